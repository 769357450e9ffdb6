using System.Text;
using Microsoft.ML.Tokenizers;

namespace Qwen.Tokenization.Tokenizer;

/// <summary>
/// NFC between added tokens, never across them: Hugging Face splits added tokens out before normalizing (they are
/// normalized:false), so "&lt;|im_end|&gt;" followed by U+0338 must keep the token intact rather than compose '&gt;' + U+0338.
/// </summary>
internal sealed class AddedTokenAwareNormalizer(IReadOnlyCollection<string> addedTokens) : Normalizer
{
    private readonly string[] _tokens = [.. addedTokens.OrderByDescending(t => t.Length)];

    public override string Normalize(string original)
    {
        ArgumentNullException.ThrowIfNull(original);
        if (original.IsNormalized(NormalizationForm.FormC))
        {
            return original;
        }
        var sb = new StringBuilder(original.Length);
        var start = 0;
        // Next occurrence of each token, found once and advanced only when passed (a rescan per segment is quadratic).
        var next = _tokens.Select(t => original.IndexOf(t, StringComparison.Ordinal)).ToArray();
        while (true)
        {
            int at = -1, which = -1;
            for (var i = 0; i < _tokens.Length; i++)
            {
                if (next[i] >= 0 && next[i] < start)
                {
                    next[i] = original.IndexOf(_tokens[i], start, StringComparison.Ordinal);
                }
                // Leftmost match, then the longest (tokens are sorted longest first).
                if (next[i] >= 0 && (at < 0 || next[i] < at))
                {
                    at = next[i];
                    which = i;
                }
            }
            if (at < 0)
            {
                sb.Append(original.AsSpan(start).ToString().Normalize(NormalizationForm.FormC));
                return sb.ToString();
            }
            sb.Append(original.AsSpan(start, at - start).ToString().Normalize(NormalizationForm.FormC)).Append(_tokens[which]);
            start = at + _tokens[which].Length;
        }
    }

    public override string Normalize(ReadOnlySpan<char> original) => Normalize(original.ToString());
}
