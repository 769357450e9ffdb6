using System.Globalization;
using System.Text.Json;
using Qwen.Inference.Engine;
using Qwen.Inference.Sampling;
using Qwen.Server.Errors;
using Qwen.Server.Hosting;
using Qwen.Tokenization.Tokenizer;

namespace Qwen.Server.Validation;

/// <summary>
/// The checks chat and text completions share, in the order a request meets them: the body is an object and names the
/// served model (checked first, before anything is rendered or tokenized); then the sampling, stream and limit fields
/// (problems collected); then whether prompt and max_tokens fit the model: before tokenizing by the prompt's length in
/// bytes (<see cref="Tokenize"/>), then exactly once it is tokenized. Unset sampling
/// fields take the model's generation_config.json values. Unknown fields are ignored.
/// </summary>
internal static class RequestValidator
{
    public const int MaxStops = 16;
    public const int MaxStopLength = 256;

    /// <summary>Throws a 400 unless the body is an object, and a 404 if it names a model other than the served one.</summary>
    public static void CheckModel(JsonElement body, ModelHost model)
    {
        if (body.ValueKind != JsonValueKind.Object)
        {
            throw ApiException.BadRequest($"the request body must be a JSON object (given {FieldReader.Describe(body)})");
        }
        if (!body.TryGetProperty("model", out var name) || name.ValueKind == JsonValueKind.Null)
        {
            return;
        }
        if (name.ValueKind != JsonValueKind.String)
        {
            throw ApiException.BadRequest($"'model' must be a string (given {FieldReader.Describe(name)})", "model");
        }
        if (name.GetString() != model.Name)
        {
            throw ApiException.ModelNotFound(FieldReader.Shorten(name.GetString()!), model.Name);
        }
    }

    /// <summary>
    /// Reads the fields chat and text completions share; problems go to the collector. The sampling settings are built
    /// here once: <paramref name="topLogprobs"/> (null: no logprobs) and <paramref name="bannedTokenIds"/> (logit −∞,
    /// over any logit_bias) come from the endpoint's own fields.
    /// </summary>
    public static SharedFields Common(FieldReader body, ModelHost model, ServerOptions options, bool chat, int? topLogprobs, IReadOnlyList<int> bannedTokenIds)
    {
        var limit = options.MaxTokensLimit > 0 ? options.MaxTokensLimit : model.Engine.MaxModelLen;
        var maxTokens = (chat ? body.Int("max_completion_tokens", 1, limit) : null) ?? body.Int("max_tokens", 1, limit);
        var stream = body.Bool("stream") ?? false;
        var includeUsage = body.Object("stream_options")?.Bool("include_usage") ?? false;
        if (!stream && body.TryGet("stream_options", out _))
        {
            body.Problem("stream_options", "'stream_options' is only allowed when 'stream' is true"); // as OpenAI and vLLM
        }
        var sampling = Sampling(body, model, topLogprobs, bannedTokenIds);
        body.String("user");
        var n = Choices(body, model);
        return new SharedFields(sampling, maxTokens, Stops(body), n, stream, includeUsage, body.Bool("ignore_eos") ?? false);
    }

    /// <summary>
    /// Reads the sampling fields (OpenAI's and vLLM's extensions) into choice 0's settings; unset ones take the model's
    /// generation_config.json values. <paramref name="topLogprobs"/> (null: no logprobs) and <paramref name="bannedTokenIds"/>
    /// (logit −∞, over any logit_bias) come from the endpoint's own fields.
    /// </summary>
    public static SamplingParams Sampling(FieldReader body, ModelHost model, int? topLogprobs, IReadOnlyList<int> bannedTokenIds)
    {
        var defaults = model.Defaults;
        var vocab = model.Engine.Info.VocabSize;
        return new SamplingParams
        {
            Temperature = body.Number("temperature", 0, 2) ?? defaults.Temperature ?? 1f,
            TopP = body.Number("top_p", 0, 1, minExclusive: true) ?? defaults.TopP ?? 1f,
            TopK = Math.Max(0, body.Int("top_k", -1, vocab) ?? defaults.TopK ?? 0),
            MinP = body.Number("min_p", 0, 1) ?? 0f,
            RepetitionPenalty = body.Number("repetition_penalty", 0.01, 10) ?? defaults.RepetitionPenalty ?? 1f,
            PresencePenalty = body.Number("presence_penalty", -2, 2) ?? 0f,
            FrequencyPenalty = body.Number("frequency_penalty", -2, 2) ?? 0f,
            LogitBias = LogitBias(body, vocab, bannedTokenIds),
            Seed = Seed(body),
            TopLogprobs = topLogprobs,
        };
    }

    /// <summary>
    /// The plan for <paramref name="prompt"/>, once it is tokenized: checks that the prompt, plus max_tokens when given,
    /// fits the model (unset max_tokens: generation_config's max_new_tokens, or all the room left when that is larger or
    /// absent; a default, never a cap on what a request asks for). A grammar ends only at a stop token, so a constrained
    /// request keeps the model's stop ids even with ignore_eos. <paramref name="promptField"/> names the prompt's field in
    /// that error (default: messages for chat, else prompt).
    /// </summary>
    public static GenerationPlan Plan(SharedFields fields, int[] prompt, ModelHost model, bool chat, Func<ITokenConstraint>? grammar, ToolChoicePlan toolChoice, bool parallelToolCalls, string? promptField = null)
    {
        CheckFits(model, prompt.Length, fields.MaxTokens, promptField ?? (chat ? "messages" : "prompt"));
        var room = model.Engine.MaxModelLen - prompt.Length;
        var stopIds = fields.IgnoreEos && grammar is null ? [] : model.Defaults.EosTokenIds;
        var request = new GenerationRequest(prompt, fields.Sampling, fields.MaxTokens ?? Math.Min(room, model.Defaults.MaxNewTokens ?? room), stopIds);
        return new GenerationPlan(request, fields.N, fields.Stops, grammar, toolChoice, parallelToolCalls, fields.Stream, fields.IncludeUsage);
    }

    /// <summary>
    /// n, at most <see cref="ModelHost.MaxSeqsPerRequest"/>: each choice holds a slot, so one request may not take them all.
    /// Beyond the cap the message names the setting, so a client learns why and an operator what to raise.
    /// </summary>
    private static int Choices(FieldReader body, ModelHost model)
    {
        var cap = model.MaxSeqsPerRequest;
        if (body.TryGet("n", out var v) && v.ValueKind == JsonValueKind.Number && !(v.TryGetDouble(out var d) && d <= cap))
        {
            body.Problem("n", string.Create(CultureInfo.InvariantCulture, $"'n' must be in [1, {cap}] (given {FieldReader.Shorten(v.GetRawText())}): one request may hold at most {cap} of the {model.Engine.Info.Slots} KV cache slots, set by {ServerOptions.Setting(nameof(ServerOptions.MaxSeqsPerRequest)).Label}"));
            return 1;
        }
        return body.Int("n", 1, cap) ?? 1;
    }

    /// <summary>
    /// Tokenizes prompt text after a check that costs no BPE: a text whose <see cref="QwenTokenizer.MinimumTokenCount"/>
    /// already leaves no room (with <paramref name="maxTokens"/> when given) gets the 400 <see cref="Plan"/> would give,
    /// saying "at least", before any tokenizing. <paramref name="plainText"/>: ranges whose added-token text is plain text.
    /// </summary>
    public static int[] Tokenize(ModelHost model, string text, IReadOnlyList<Range> plainText, int? maxTokens, string field, CancellationToken cancellationToken)
    {
        CheckFits(model, model.Tokenizer.MinimumTokenCount(text), maxTokens, field, atLeast: true);
        return model.Tokenizer.Encode(text, plainText, cancellationToken);
    }

    /// <summary>Throws the context_length_exceeded 400 unless <paramref name="promptTokens"/> (a lower bound when <paramref name="atLeast"/>) and max_tokens fit the model.</summary>
    private static void CheckFits(ModelHost model, int promptTokens, int? maxTokens, string field, bool atLeast = false)
    {
        var room = model.Engine.MaxModelLen - promptTokens;
        if (room >= 1 && (maxTokens is not { } m || m <= room))
        {
            return;
        }
        var least = atLeast ? "at least " : "";
        throw ApiException.BadRequest(
            $"This model's maximum context length is {model.Engine.MaxModelLen} tokens. However, you requested {least}{(long)promptTokens + (maxTokens ?? 1)} tokens ({least}{promptTokens} in the {field}, {maxTokens ?? 1} in the completion). Please reduce the length of the {field} or completion.",
            field,
            "context_length_exceeded");
    }

    private static ulong? Seed(FieldReader body)
    {
        if (!body.TryGet("seed", out var v))
        {
            return null;
        }
        if (v.ValueKind != JsonValueKind.Number || !v.TryGetInt64(out var seed))
        {
            body.Problem("seed", string.Create(CultureInfo.InvariantCulture, $"'seed' must be an integer in [{long.MinValue}, {long.MaxValue}] (given {FieldReader.Describe(v)})"));
            return null;
        }
        return unchecked((ulong)seed);
    }

    /// <summary>logit_bias, with <paramref name="banned"/> set to −∞ over it; null when both are empty.</summary>
    private static Dictionary<int, float>? LogitBias(FieldReader body, int vocab, IReadOnlyList<int> banned)
    {
        var result = Bias(body, vocab);
        if (banned.Count > 0)
        {
            result ??= [];
            foreach (var id in banned)
            {
                result[id] = float.NegativeInfinity;
            }
        }
        return result;
    }

    private static Dictionary<int, float>? Bias(FieldReader body, int vocab)
    {
        if (!body.TryGet("logit_bias", out var lb))
        {
            return null;
        }
        if (lb.ValueKind != JsonValueKind.Object)
        {
            body.WrongType("logit_bias", "an object mapping token ids to numbers", lb);
            return null;
        }
        var result = new Dictionary<int, float>();
        foreach (var p in lb.EnumerateObject())
        {
            if (!int.TryParse(p.Name, NumberStyles.None, CultureInfo.InvariantCulture, out var id) || id >= vocab)
            {
                body.Problem("logit_bias", $"'logit_bias' keys must be token ids in [0, {vocab}) (given '{FieldReader.Shorten(p.Name)}')");
            }
            else if (p.Value.ValueKind != JsonValueKind.Number || !p.Value.TryGetDouble(out var d) || d < -100 || d > 100)
            {
                body.Problem("logit_bias", $"'logit_bias' values must be numbers in [-100, 100] (given {FieldReader.Describe(p.Value)} for '{p.Name}')");
            }
            else
            {
                result[id] = (float)d;
            }
        }
        return result;
    }

    private static List<string> Stops(FieldReader body)
    {
        if (!body.TryGet("stop", out var stop))
        {
            return [];
        }
        if (stop.ValueKind == JsonValueKind.String)
        {
            return stop.GetString()!.Length is 0 or > MaxStopLength ? Bad() : [stop.GetString()!];
        }
        if (stop.ValueKind != JsonValueKind.Array)
        {
            body.WrongType("stop", "a string or an array of strings", stop);
            return [];
        }
        if (stop.GetArrayLength() > MaxStops)
        {
            body.Problem("stop", $"'stop' may hold at most {MaxStops} strings (given {stop.GetArrayLength()})");
            return [];
        }
        var list = new List<string>();
        foreach (var s in stop.EnumerateArray())
        {
            if (s.ValueKind != JsonValueKind.String || s.GetString()!.Length is 0 or > MaxStopLength)
            {
                return Bad();
            }
            list.Add(s.GetString()!);
        }
        return list;

        List<string> Bad()
        {
            body.Problem("stop", $"'stop' entries must be non-empty strings of at most {MaxStopLength} characters");
            return [];
        }
    }
}
