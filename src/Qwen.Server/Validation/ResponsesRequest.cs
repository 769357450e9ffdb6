namespace Qwen.Server.Validation;

/// <summary>A validated /v1/responses request: the generation plan (n = 1) and the settings its answer repeats.</summary>
/// <param name="Plan">What the pipeline runs.</param>
/// <param name="Echo">What the response object echoes.</param>
internal sealed record ResponsesRequest(GenerationPlan Plan, ResponseEcho Echo);
