using Qwen.Inference.Engine;
using Qwen.Server.Protocol;
using Qwen.Tokenization.Tokenizer;

namespace Qwen.Server.Endpoints;

/// <summary>
/// Legacy (text completion) logprobs of one choice: parallel lists of tokens, token_logprobs, top_logprobs and
/// text_offset, where text_offset counts characters of the whole returned text (the echoed prompt first) and advances by
/// each token's text, as vLLM does. Echoed prompt tokens carry null logprobs and null alternatives: the exported model
/// graph returns logits for the last position only, so the prompt's own log-probabilities are never computed.
/// Streamed chunks and the whole answer use the same running offset, so their lists concatenate to the same thing.
/// </summary>
internal sealed class LegacyLogprobs(QwenTokenizer tokenizer, int generatedStart)
{
    private int _offset = generatedStart;

    /// <summary>The echoed prompt's tokens, offsets from 0, logprobs null.</summary>
    public static CompletionLogprobs Prompt(QwenTokenizer tokenizer, int[] prompt)
    {
        var tokens = prompt.Select(id => tokenizer.Decode([id])).ToList();
        var offset = 0;
        return new CompletionLogprobs(tokens, [.. tokens.Select(_ => (float?)null)], [.. tokens.Select(_ => (Dictionary<string, float>?)null)], Offsets(tokens, ref offset));
    }

    /// <summary>Joins lists in order (the prompt's, then the generated tokens').</summary>
    public static CompletionLogprobs Concat(CompletionLogprobs a, CompletionLogprobs b)
        => new([.. a.Tokens, .. b.Tokens], [.. a.TokenLogprobs, .. b.TokenLogprobs], [.. a.TopLogprobs, .. b.TopLogprobs], [.. a.TextOffset, .. b.TextOffset]);

    /// <summary>The next generated tokens' lists; advances the offset. Alternatives are keyed by their text (the first of equal texts wins).</summary>
    public CompletionLogprobs Next(IReadOnlyList<GeneratedToken> tokens)
    {
        var texts = tokens.Select(t => tokenizer.Decode([t.TokenId])).ToList();
        return new CompletionLogprobs(
            texts,
            [.. tokens.Select(t => (float?)(t.Logprob ?? 0))],
            [.. tokens.Select(t => (Dictionary<string, float>?)(t.TopLogprobs ?? []).GroupBy(a => tokenizer.Decode([a.TokenId])).ToDictionary(g => g.Key, g => g.First().Logprob))],
            Offsets(texts, ref _offset));
    }

    /// <summary>Each token's start in the text, counting on from <paramref name="offset"/>, which ends past the last.</summary>
    private static List<int> Offsets(IEnumerable<string> tokens, ref int offset)
    {
        var offsets = new List<int>();
        foreach (var t in tokens)
        {
            offsets.Add(offset);
            offset += t.Length;
        }
        return offsets;
    }
}
