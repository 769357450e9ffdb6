using Qwen.Inference.Engine;
using Qwen.Server.Protocol;
using Qwen.Tokenization.Tokenizer;

namespace Qwen.Server.Endpoints;

/// <summary>Chat logprobs from generated tokens: each token's text, log-probability and UTF-8 bytes, with its alternatives.</summary>
internal static class ChatLogprobs
{
    public static ChoiceLogprobs From(QwenTokenizer tokenizer, IReadOnlyList<GeneratedToken> tokens)
    {
        TopLogprob Top(TokenLogprob t) => new(tokenizer.Decode([t.TokenId]), t.Logprob, Bytes(tokenizer, t.TokenId));
        return new ChoiceLogprobs([.. tokens.Select(t => new ChatCompletionTokenLogprob(tokenizer.Decode([t.TokenId]), t.Logprob ?? 0, Bytes(tokenizer, t.TokenId), t.TopLogprobs?.Select(Top).ToList() ?? []))]);
    }

    private static List<int> Bytes(QwenTokenizer tokenizer, int id) => [.. tokenizer.TokenBytes(id).ToArray().Select(b => (int)b)];
}
