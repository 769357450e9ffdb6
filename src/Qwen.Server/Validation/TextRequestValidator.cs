using System.Text.Json;
using Qwen.Server.Hosting;

namespace Qwen.Server.Validation;

/// <summary>
/// Validates a /v1/completions body in the same order as chat: body and model first (404 before any work), then every
/// field (one 400 lists all problems), then whether prompt and max_tokens fit the context.
/// </summary>
internal static class TextRequestValidator
{
    /// <summary>Most alternatives legacy <c>logprobs</c> may ask for (OpenAI's limit).</summary>
    public const int MaxLogprobs = 5;

    public static TextRequest Validate(JsonElement root, ModelHost model, ServerOptions options, CancellationToken cancellationToken)
    {
        RequestValidator.CheckModel(root, model);
        var problems = new RequestProblems();
        var body = new FieldReader(root, null, problems);
        var (text, tokenIds) = Prompt(body, model);
        var echo = body.Bool("echo") ?? false;
        var logprobs = body.Int("logprobs", 0, MaxLogprobs);
        var fields = RequestValidator.Common(body, model, options, chat: false, logprobs, []);
        problems.ThrowIfAny();
        // A raw prompt is tokenized as it is: its special-token text stays control tokens (the raw prompt interface).
        var prompt = tokenIds ?? RequestValidator.Tokenize(model, text!, [], fields.MaxTokens, "prompt", cancellationToken);
        return new TextRequest(RequestValidator.Plan(fields, prompt, model, chat: false, null, ToolChoicePlan.PlainText, parallelToolCalls: true), echo);
    }

    /// <summary>The prompt as text to tokenize (once the other fields are checked) or as token ids; ids [] after a problem.</summary>
    private static (string? Text, int[]? Ids) Prompt(FieldReader body, ModelHost model)
    {
        if (!body.TryGet("prompt", out var p))
        {
            body.Problem("prompt", "'prompt' is required");
            return (null, []);
        }
        if (p.ValueKind == JsonValueKind.Array && p.GetArrayLength() == 1 && p[0].ValueKind == JsonValueKind.String)
        {
            p = p[0];
        }
        if (p.ValueKind == JsonValueKind.String)
        {
            // Only the empty text encodes to no tokens: normalizing keeps text non-empty and every byte has a token.
            if (p.GetString()!.Length == 0)
            {
                body.Problem("prompt", "'prompt' must not be empty");
            }
            return (p.GetString()!, null);
        }
        if (p.ValueKind == JsonValueKind.Array && p.GetArrayLength() > 0 && p.EnumerateArray().All(e => e.ValueKind == JsonValueKind.Number))
        {
            // The tokenizer's ids, as /detokenize takes them: the model's embedding has padding rows past them (151,936
            // against 151,665 for Qwen2.5) that no text maps to, so a prompt of them could not be echoed or logged.
            var vocab = model.Tokenizer.TokenCount;
            var ids = new List<int>();
            foreach (var e in p.EnumerateArray())
            {
                if (!e.TryGetInt32(out var id) || id < 0 || id >= vocab)
                {
                    body.Problem("prompt", $"'prompt' token ids must be integers in [0, {vocab}) (given {e.GetRawText()})");
                    return (null, []);
                }
                ids.Add(id);
            }
            return (null, [.. ids]);
        }
        body.Problem("prompt", "'prompt' must be a string, an array of one string, or a non-empty array of token ids (batches of prompts are not supported)");
        return (null, []);
    }
}
