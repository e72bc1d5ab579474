/**
 * An error the local service answers with, shaped as AWS shapes it: the wire
 * code (`__type` and `X-Amzn-Errortype`), a message and an HTTP status. Names are
 * exactly AWS's, so SDKs raise their own exception classes for them.
 */
export class ServiceError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly status = 400,
    /** Extra members of the error body, such as Athena's `AthenaErrorCode`. */
    readonly fields: Record<string, string> = {},
  ) {
    super(message);
    this.name = code;
  }
}

const error = (code: string, status?: number) => (message: string) => new ServiceError(code, message, status);

// Protocol and authentication errors, common to every AWS JSON service.
export const MissingAuthenticationToken = error('MissingAuthenticationTokenException', 403);
export const IncompleteSignature = error('IncompleteSignatureException', 400);
export const InvalidSignature = error('InvalidSignatureException', 403);
export const UnrecognizedClient = error('UnrecognizedClientException', 403);
export const AccessDenied = error('AccessDeniedException', 400);
export const UnknownOperation = error('UnknownOperationException', 400);
export const Serialization = error('SerializationException', 400);
export const InternalFailure = error('InternalFailure', 500);
