// Every error leaves the simulator in OpenAI's shape, so SDKs map it to the same error classes as the real API.
export interface OpenAiErrorBody {
  error: { message: string; type: string; param: string | null; code: string | null };
}

export function openAiErrorBody(
  message: string,
  type: string,
  param: string | null = null,
  code: string | null = null,
): OpenAiErrorBody {
  return { error: { message, type, param, code } };
}

export class OpenAiHttpError extends Error {
  constructor(
    readonly status: number,
    readonly body: OpenAiErrorBody,
    readonly headers: Readonly<Record<string, string>> = {},
  ) {
    super(body.error.message);
    this.name = 'OpenAiHttpError';
  }

  static invalidRequest(
    message: string,
    param: string | null = null,
    code: string | null = null,
  ): OpenAiHttpError {
    return new OpenAiHttpError(400, openAiErrorBody(message, 'invalid_request_error', param, code));
  }
}
