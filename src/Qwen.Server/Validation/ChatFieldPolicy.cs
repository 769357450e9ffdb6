using System.Text.Json;

namespace Qwen.Server.Validation;

/// <summary>
/// The OpenAI chat-completions fields the server does not act on, each either accepted and ignored (only where ignoring
/// cannot change what the answer means: bookkeeping, caching, routing, and reasoning, which Qwen2.5 does not have) or
/// refused with a 400 naming it (it asks for output the server cannot give). Accepted fields are still type-checked, so
/// a malformed request fails here as it would at OpenAI. Fields not in OpenAI's API stay ignored. The README's API
/// section has this table.
/// </summary>
internal static class ChatFieldPolicy
{
    /// <summary>OpenAI's reasoning_effort values (gpt-5 and o-series), all accepted.</summary>
    private static readonly string[] ReasoningEfforts = ["none", "minimal", "low", "medium", "high", "xhigh"];

    /// <summary>Accepted string fields: ids and routing hints that leave the answer as it is.</summary>
    private static readonly string[] IgnoredStrings = ["service_tier", "safety_identifier", "prompt_cache_key", "prompt_cache_retention"];

    /// <summary>Refused fields, each with what to do instead.</summary>
    private static readonly (string Field, string Why)[] Refused =
    [
        ("audio", "this server writes text only"),
        ("prediction", "predicted outputs are not supported"),
        ("web_search_options", "this server has no web search"),
        ("functions", "the legacy 'functions' is not supported; send 'tools'"),
        ("function_call", "the legacy 'function_call' is not supported; send 'tool_choice'"),
    ];

    /// <summary>Checks the fields in the table; problems go to <paramref name="body"/>'s collector.</summary>
    public static void Check(FieldReader body)
    {
        if (body.String("reasoning_effort") is { } effort && !ReasoningEfforts.Contains(effort))
        {
            body.Problem("reasoning_effort", $"'reasoning_effort' must be one of {string.Join(", ", ReasoningEfforts)} (given '{FieldReader.Shorten(effort)}')");
        }
        foreach (var field in IgnoredStrings)
        {
            body.String(field);
        }
        body.Bool("store");
        body.Object("metadata");
        if (body.Element.TryGetProperty("stream_options", out var so) && so.ValueKind == JsonValueKind.Object)
        {
            new FieldReader(so, "stream_options", body.Problems).Bool("include_obfuscation");
        }
        // verbosity asks for shorter or longer answers, which the server cannot honour; the default asks for nothing.
        if (body.String("verbosity") is { } verbosity && verbosity != "medium")
        {
            body.Problem("verbosity", $"'verbosity' must be 'medium' (given '{FieldReader.Shorten(verbosity)}'; this server cannot change how verbose the model is)");
        }
        Modalities(body);
        foreach (var (field, why) in Refused)
        {
            if (body.TryGet(field, out _))
            {
                body.Problem(field, $"'{field}' is not supported: {why}");
            }
        }
    }

    /// <summary>modalities may only ask for text, the one output this server has.</summary>
    private static void Modalities(FieldReader body)
    {
        if (!body.TryGet("modalities", out var modalities))
        {
            return;
        }
        if (modalities.ValueKind != JsonValueKind.Array || modalities.EnumerateArray().Any(m => m.ValueKind != JsonValueKind.String))
        {
            body.WrongType("modalities", "an array of strings", modalities);
            return;
        }
        if (modalities.EnumerateArray().FirstOrDefault(m => m.GetString() != "text") is { ValueKind: JsonValueKind.String } other)
        {
            body.Problem("modalities", $"'modalities' may only hold 'text' (given '{FieldReader.Shorten(other.GetString()!)}'; this server writes text only)");
        }
    }
}
