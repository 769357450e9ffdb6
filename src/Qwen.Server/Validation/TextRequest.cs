namespace Qwen.Server.Validation;

/// <summary>A validated /v1/completions request: the raw prompt's token ids (no chat template) and generation settings.</summary>
/// <param name="PromptTokens">The prompt, tokenized or as given.</param>
/// <param name="Settings">Sampling and limits; TopLogprobs is the legacy <c>logprobs</c> count.</param>
/// <param name="Echo">Prepend the prompt to the text.</param>
internal sealed record TextRequest(int[] PromptTokens, GenerationSettings Settings, bool Echo);
