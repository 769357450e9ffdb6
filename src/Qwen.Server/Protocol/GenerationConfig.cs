namespace Qwen.Server.Protocol;

/// <summary>
/// What a chat request gets for each sampling field it leaves unset, from the model's generation_config.json (this
/// server's extension of the model card, so a client can show the defaults it would override); null: the field's
/// OpenAI default (temperature 1, top_p 1, no top_k, no repetition penalty, max_tokens all the room the prompt leaves).
/// </summary>
public sealed record GenerationConfig(float? Temperature, float? TopP, int? TopK, float? RepetitionPenalty, int? MaxTokens);
