export function SpendPage() {
  return (
    <section>
      <h1>spend</h1>
    </section>
  );
}
