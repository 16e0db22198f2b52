export function AuditPage() {
  return (
    <section>
      <h1>audit</h1>
    </section>
  );
}
