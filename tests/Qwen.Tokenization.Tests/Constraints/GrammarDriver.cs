using Qwen.Tokenization.Constraints;
using Qwen.Tokenization.Tokenizer;

namespace Qwen.Tokenization.Tests.Constraints;

/// <summary>
/// Stand-in models that drive a grammar with the real Qwen2.5 vocabulary, as the engine does: pick a token, and only
/// if it is refused fall back to the allowed set. Policies: random (seeded), closing (prefer stop, '}', ']', '"', '0',
/// else the lowest allowed id), lowest allowed id, longest allowed token.
/// </summary>
internal static class GrammarDriver
{
    /// <summary>The model's padded vocabulary (Qwen2.5: 151,936 logits), larger than the tokenizer's id range.</summary>
    public const int VocabularySize = 151_936;

    private static readonly Lazy<TokenBytes> TokensLazy = new(() => TokenBytes.FromTokenizer(TestTokenizers.FromVocab));
    private static readonly Lazy<int[]> ByteTokensLazy = new(() =>
    {
        var ids = Enumerable.Repeat(-1, 256).ToArray();
        for (var id = 0; id < Tokens.Count; id++)
        {
            if (Tokens[id].Length == 1 && !Tokens.IsSpecial(id) && ids[Tokens[id][0]] < 0)
            {
                ids[Tokens[id][0]] = id;
            }
        }
        return ids;
    });

    public static QwenTokenizer Tokenizer => TestTokenizers.FromVocab;

    public static TokenBytes Tokens => TokensLazy.Value;

    public static int ImEnd => Tokenizer.GetTokenId("<|im_end|>")!.Value;

    public static int EndOfText => Tokenizer.GetTokenId("<|endoftext|>")!.Value;

    public static int[] StopIds => [ImEnd, EndOfText];

    /// <summary>The token that is exactly byte <paramref name="b"/> (byte-level BPE has one for every byte).</summary>
    public static int ByteToken(byte b) => ByteTokensLazy.Value[b] >= 0 ? ByteTokensLazy.Value[b] : throw new InvalidOperationException($"no token for byte {b}");

    /// <summary>Feeds <paramref name="text"/>'s UTF-8 one single-byte token at a time; returns the index of the first refused byte, or -1.</summary>
    public static int FeedBytes(TokenGrammar grammar, string text)
    {
        var bytes = System.Text.Encoding.UTF8.GetBytes(text);
        for (var i = 0; i < bytes.Length; i++)
        {
            var id = ByteToken(bytes[i]);
            if (!grammar.IsAllowed(id))
            {
                return i;
            }
            grammar.Accept(id);
        }
        return -1;
    }

    /// <summary>All allowed ids of the model's vocabulary, in id order.</summary>
    public static List<int> AllowedIds(TokenGrammar grammar)
    {
        var allowed = new List<int>();
        for (var id = 0; id < VocabularySize; id++)
        {
            if (grammar.IsAllowed(id))
            {
                allowed.Add(id);
            }
        }
        return allowed;
    }

    /// <summary>
    /// Runs <paramref name="randomSteps"/> random tokens (or until a stop), then the closing policy, accepting each;
    /// returns the ids including the final stop id. Fails the test on a dead end or when closing takes over <paramref name="closingBound"/> tokens.
    /// </summary>
    public static List<int> Run(TokenGrammar grammar, Func<TokenGrammar, int> policy, int policySteps, int closingBound = 400)
    {
        var ids = new List<int>();
        for (var step = 0; step < policySteps + closingBound; step++)
        {
            var id = step < policySteps ? policy(grammar) : Closing(grammar);
            Assert.True(id >= 0, $"dead end after {ids.Count} tokens: nothing allowed");
            Assert.True(grammar.IsAllowed(id));
            grammar.Accept(id);
            ids.Add(id);
            if (StopIds.Contains(id))
            {
                Assert.True(grammar.IsComplete);
                return ids;
            }
        }
        Assert.Fail($"the closing policy did not reach a stop token within {closingBound} tokens: …{System.Text.Json.JsonSerializer.Serialize(Tokenizer.Decode(ids.ToArray())[^Math.Min(300, Tokenizer.Decode(ids.ToArray()).Length)..])}");
        return ids;
    }

    /// <summary>A random model: a few hundred random ids, an allowed one of them (half the time one with JSON punctuation); else a random allowed id from a full scan.</summary>
    public static Func<TokenGrammar, int> Random(int seed)
    {
        var rng = new Random(seed);
        return grammar =>
        {
            var sampled = new List<int>();
            for (var i = 0; i < 400; i++)
            {
                var id = rng.Next(VocabularySize);
                if (grammar.IsAllowed(id))
                {
                    sampled.Add(id);
                }
            }
            if (sampled.Count == 0)
            {
                sampled = AllowedIds(grammar);
            }
            if (sampled.Count == 0)
            {
                return -1;
            }
            var punctuated = sampled.Where(id => Tokens[id].IndexOfAny("\"{}[],:"u8) >= 0).ToList();
            var pool = punctuated.Count > 0 && rng.Next(2) == 0 ? punctuated : sampled;
            return pool[rng.Next(pool.Count)];
        };
    }

    /// <summary>Prefers finishing: a stop id, then '"' inside a string, else '}', ']', '"', '0' (each closes or completes something), else the lowest allowed id.</summary>
    public static int Closing(TokenGrammar grammar)
    {
        foreach (var id in StopIds)
        {
            if (grammar.IsAllowed(id))
            {
                return id;
            }
        }
        // '!' is allowed only inside a string (no literal of these grammars has one): there '"' closes, elsewhere it would open one.
        var inString = grammar.IsAllowed(ByteToken((byte)'!'));
        foreach (var b in inString ? "\"0"u8 : "}]\"0"u8)
        {
            if (grammar.IsAllowed(ByteToken(b)))
            {
                return ByteToken(b);
            }
        }
        return Lowest(grammar);
    }

    /// <summary>The lowest allowed id (in a JSON string that is '!' forever: only max_tokens ends it).</summary>
    public static int Lowest(TokenGrammar grammar)
    {
        for (var id = 0; id < VocabularySize; id++)
        {
            if (grammar.IsAllowed(id))
            {
                return id;
            }
        }
        return -1;
    }

    /// <summary>The allowed token with the most bytes (lowest id among equals).</summary>
    public static int Longest(TokenGrammar grammar)
    {
        var best = -1;
        for (var id = 0; id < VocabularySize; id++)
        {
            if (grammar.IsAllowed(id) && (best < 0 || Tokens[id].Length > Tokens[best].Length))
            {
                best = id;
            }
        }
        return best;
    }
}
