export function WebhooksPage() {
  return (
    <section>
      <h1>webhooks</h1>
    </section>
  );
}
