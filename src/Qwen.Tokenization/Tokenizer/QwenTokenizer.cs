namespace Qwen.Tokenization.Tokenizer;

/// <summary>The Qwen2.5 byte-level BPE tokenizer, loaded from a model directory's files. Thread-safe after construction.</summary>
public sealed class QwenTokenizer
{
    private QwenTokenizer()
    {
    }

    /// <summary>Loads <c>tokenizer.json</c> (or <c>vocab.json</c> + <c>merges.txt</c>) and <c>tokenizer_config.json</c> from <paramref name="modelDirectory"/>.</summary>
    public static QwenTokenizer FromDirectory(string modelDirectory) => throw new InvalidOperationException("pending: " + modelDirectory);

    /// <summary>Encodes text; added tokens in the text (special or not) become their single ids; no BOS/EOS is added.</summary>
    public int[] Encode(string text) => throw new InvalidOperationException("pending: " + text);

    /// <summary>Decodes ids to text; invalid UTF-8 becomes U+FFFD; <paramref name="skipSpecialTokens"/> drops only tokens marked special.</summary>
    public string Decode(ReadOnlySpan<int> ids, bool skipSpecialTokens = false) => throw new InvalidOperationException("pending " + ids.Length + skipSpecialTokens);

    /// <summary>The id of an added or regular token given by its exact text, or null.</summary>
    public int? GetTokenId(string token) => throw new InvalidOperationException("pending: " + token);

    /// <summary>Whether <paramref name="id"/> is an added token marked special in tokenizer_config.json.</summary>
    public bool IsSpecial(int id) => throw new InvalidOperationException("pending " + id);

    /// <summary>A fresh streaming detokenizer (one per generated sequence).</summary>
    public IncrementalDetokenizer CreateDetokenizer(bool skipSpecialTokens = false) => throw new InvalidOperationException("pending " + skipSpecialTokens);
}
