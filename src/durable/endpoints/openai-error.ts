/** An OpenAI-shaped error, as the gateway answers (the official clients read error.message/type/code). */
export function openAiError(
  status: number,
  code: string,
  message: string,
  headers: Record<string, string> = {},
): Response {
  const type =
    status === 404 ? "invalid_request_error" : status >= 500 ? "server_error" : "invalid_request_error";
  return Response.json({ error: { message, type, code, param: null } }, { status, headers });
}
