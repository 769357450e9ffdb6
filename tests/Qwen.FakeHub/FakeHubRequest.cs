namespace Qwen.FakeHub;

/// <summary>One request the fake Hub answered: <paramref name="Path"/> is the raw (still percent-encoded) path without the query.</summary>
/// <param name="Method">GET or HEAD.</param>
/// <param name="Path">The request path as sent, e.g. <c>/api/models/org/name/revision/main</c> or <c>/cdn/org/name/&lt;sha256&gt;</c>.</param>
/// <param name="Range">The Range header, or null when none was sent.</param>
/// <param name="HadAuthorization">Whether an Authorization header was sent.</param>
/// <param name="Status">The status code answered.</param>
/// <param name="BodyBytes">Response body bytes written (fewer than Content-Length when the transfer was cut).</param>
public sealed record FakeHubRequest(string Method, string Path, string? Range, bool HadAuthorization, int Status, long BodyBytes);
