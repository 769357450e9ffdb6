using System.Text.RegularExpressions;
using Microsoft.ML.Tokenizers;

namespace Qwen.Tokenization.Tokenizer;

/// <summary>
/// Splits with the original pattern when the text has no surrogates and no 'ſ' (there .NET and Oniguruma agree, and
/// the original is about 3x faster), and with the widened pattern otherwise. Same pieces either way.
/// </summary>
internal sealed class DispatchPreTokenizer(string pattern, IReadOnlyDictionary<string, int> addedTokens) : PreTokenizer
{
    private readonly RegexPreTokenizer _fast = new(new Regex(pattern, RegexOptions.Compiled | RegexOptions.CultureInvariant), addedTokens);
    private readonly RegexPreTokenizer _exact = new(new Regex(QwenPreTokenizerPattern.Widen(pattern), RegexOptions.Compiled | RegexOptions.CultureInvariant), addedTokens);

    public override IEnumerable<(int Offset, int Length)> PreTokenize(string text)
        => QwenPreTokenizerPattern.IsBmpSafe(text) ? _fast.PreTokenize(text) : _exact.PreTokenize(text);

    public override IEnumerable<(int Offset, int Length)> PreTokenize(ReadOnlySpan<char> text)
        => QwenPreTokenizerPattern.IsBmpSafe(text) ? _fast.PreTokenize(text) : _exact.PreTokenize(text);
}
