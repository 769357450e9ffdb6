using System.Text.Json;

namespace Qwen.Server.Tests.Robustness;

/// <summary>
/// One generated request: the endpoint, its bytes and content type, and the test's own verdict (valid: a 200 with a
/// well-formed answer; invalid: a 4xx with the OpenAI error body). <paramref name="Expect"/> optionally checks more of
/// a successful answer (or of an error body) and returns what is wrong, or null.
/// </summary>
internal sealed record FuzzCase(string Endpoint, string Kind, byte[] Body, string? ContentType, bool Valid, bool Stream, Func<JsonElement, string?>? Expect = null);
