namespace Qwen.Server.Endpoints;

/// <summary>What every object of one response repeats: its id (also the X-Request-Id header), creation time and model.</summary>
/// <param name="Id">chatcmpl-… or cmpl-….</param>
/// <param name="Created">Unix seconds.</param>
/// <param name="Model">The served model id.</param>
internal sealed record ResponseHeader(string Id, long Created, string Model);
