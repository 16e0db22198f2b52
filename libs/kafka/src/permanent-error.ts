// Thrown by a handler when retrying cannot help (unknown tenant, conflicting duplicate):
// the message goes straight to the dead-letter topic with this error's message as the reason.
export class PermanentError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PermanentError';
  }
}
