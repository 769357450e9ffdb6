using System.Text.Json;
using Qwen.Inference.Sampling;
using Qwen.Server.Errors;
using Qwen.Server.Hosting;

namespace Qwen.Server.Validation;

/// <summary>Turns a request body into engine terms, or a 400 naming the field. Unknown fields are ignored.</summary>
internal static class RequestValidator
{
    public const int MaxChoices = 8;
    public const int MaxStops = 16;

    /// <summary>Checks model, stream and sampling fields common to chat and text completions.</summary>
    public static GenerationSettings Common(JsonElement body, ModelHost model, ServerOptions options, int promptTokens, bool chat)
    {
        if (body.ValueKind != JsonValueKind.Object)
        {
            throw ApiException.BadRequest("the request body must be a JSON object");
        }
        var name = JsonFields.String(body, "model");
        if (name is not null && name != model.Name)
        {
            throw new ApiException(404, $"The model '{name}' does not exist (this server serves '{model.Name}')", "invalid_request_error", "model", "model_not_found");
        }
        var limit = options.MaxTokensLimit > 0 ? options.MaxTokensLimit : model.Engine.MaxModelLen;
        var maxTokens = (chat ? JsonFields.Int(body, "max_completion_tokens", 1, limit) : null) ?? JsonFields.Int(body, "max_tokens", 1, limit);
        var room = model.Engine.MaxModelLen - promptTokens;
        if (room < 1 || (maxTokens is { } m && m > room))
        {
            throw ApiException.BadRequest(
                $"This model's maximum context length is {model.Engine.MaxModelLen} tokens. However, you requested {promptTokens + (maxTokens ?? 1)} tokens ({promptTokens} in the messages, {maxTokens ?? 1} in the completion). Please reduce the length of the messages or completion.",
                chat ? "messages" : "prompt",
                "context_length_exceeded");
        }

        var stream = JsonFields.Bool(body, "stream") ?? false;
        var includeUsage = false;
        if (body.TryGetProperty("stream_options", out var so) && so.ValueKind != JsonValueKind.Null)
        {
            if (so.ValueKind != JsonValueKind.Object)
            {
                throw JsonFields.Type("stream_options", "an object", so);
            }
            includeUsage = JsonFields.Bool(so, "include_usage") ?? false;
        }
        var defaults = model.Defaults;
        var sampling = new SamplingParams
        {
            Temperature = JsonFields.Number(body, "temperature", 0, 2) ?? defaults.Temperature ?? 1f,
            TopP = JsonFields.Number(body, "top_p", double.Epsilon, 1) ?? defaults.TopP ?? 1f,
            TopK = Math.Max(0, JsonFields.Int(body, "top_k", -1, model.Engine.Runner.VocabSize) ?? defaults.TopK ?? 0),
            MinP = JsonFields.Number(body, "min_p", 0, 1) ?? 0f,
            RepetitionPenalty = JsonFields.Number(body, "repetition_penalty", 0.01, 10) ?? defaults.RepetitionPenalty ?? 1f,
            PresencePenalty = JsonFields.Number(body, "presence_penalty", -2, 2) ?? 0f,
            FrequencyPenalty = JsonFields.Number(body, "frequency_penalty", -2, 2) ?? 0f,
            LogitBias = LogitBias(body, model.Engine.Runner.VocabSize),
            Seed = JsonFields.Has(body, "seed") ? SeedOf(body) : null,
        };
        JsonFields.String(body, "user");
        return new GenerationSettings(sampling, maxTokens ?? room, Stops(body), JsonFields.Int(body, "n", 1, MaxChoices) ?? 1, stream, includeUsage, null, JsonFields.Bool(body, "ignore_eos") ?? false);
    }

    private static ulong SeedOf(JsonElement body)
    {
        var v = body.GetProperty("seed");
        if (v.ValueKind != JsonValueKind.Number || !v.TryGetInt64(out var seed))
        {
            throw ApiException.BadRequest($"'seed' must be an integer in [{long.MinValue}, {long.MaxValue}] (given {v.GetRawText()})", "seed");
        }
        return unchecked((ulong)seed);
    }

    private static Dictionary<int, float>? LogitBias(JsonElement body, int vocab)
    {
        if (!body.TryGetProperty("logit_bias", out var lb) || lb.ValueKind == JsonValueKind.Null)
        {
            return null;
        }
        if (lb.ValueKind != JsonValueKind.Object)
        {
            throw JsonFields.Type("logit_bias", "an object mapping token ids to numbers", lb);
        }
        var result = new Dictionary<int, float>();
        foreach (var p in lb.EnumerateObject())
        {
            if (!int.TryParse(p.Name, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var id) || id >= vocab)
            {
                throw ApiException.BadRequest($"'logit_bias' keys must be token ids in [0, {vocab}) (given '{p.Name}')", "logit_bias");
            }
            if (p.Value.ValueKind != JsonValueKind.Number || !p.Value.TryGetDouble(out var d) || d < -100 || d > 100)
            {
                throw ApiException.BadRequest($"'logit_bias' values must be numbers in [-100, 100] (given {p.Value.GetRawText()} for '{p.Name}')", "logit_bias");
            }
            result[id] = (float)d;
        }
        return result;
    }

    private static List<string> Stops(JsonElement body)
    {
        if (!body.TryGetProperty("stop", out var stop) || stop.ValueKind == JsonValueKind.Null)
        {
            return [];
        }
        if (stop.ValueKind == JsonValueKind.String)
        {
            return [stop.GetString()!];
        }
        if (stop.ValueKind != JsonValueKind.Array)
        {
            throw JsonFields.Type("stop", "a string or an array of strings", stop);
        }
        if (stop.GetArrayLength() > MaxStops)
        {
            throw ApiException.BadRequest($"'stop' may hold at most {MaxStops} strings (given {stop.GetArrayLength()})", "stop");
        }
        var list = new List<string>();
        foreach (var s in stop.EnumerateArray())
        {
            if (s.ValueKind != JsonValueKind.String || s.GetString()!.Length is 0 or > 256)
            {
                throw ApiException.BadRequest("'stop' entries must be non-empty strings of at most 256 characters", "stop");
            }
            list.Add(s.GetString()!);
        }
        return list;
    }
}
