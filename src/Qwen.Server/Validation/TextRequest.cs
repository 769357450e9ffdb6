namespace Qwen.Server.Validation;

/// <summary>A validated /v1/completions request: the plan for the raw prompt's token ids (no chat template) and echo.</summary>
/// <param name="Plan">What to generate; its TopLogprobs is the legacy <c>logprobs</c> count.</param>
/// <param name="Echo">Prepend the prompt to the text.</param>
internal sealed record TextRequest(GenerationPlan Plan, bool Echo);
