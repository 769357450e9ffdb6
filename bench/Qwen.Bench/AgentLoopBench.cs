using System.Diagnostics;
using System.Globalization;
using Qwen.Inference.Engine;
using Qwen.Inference.Sampling;
using Qwen.OnnxExport;
using Qwen.Tokenization.Chat;
using Qwen.Tokenization.Tokenizer;

namespace Qwen.Bench;

/// <summary>
/// An agent loop on the engine: `agent [--preset qwen2.5-0.5b] [--precision int4|fp32] [--turns 5] [--turn-tokens 2000]
/// [--agent-tokens 8] [--rounds 2] [--ep cpu|cuda] [--threads N]` (also `engine --agent yes`). A scripted tool-using
/// conversation (<see cref="AgentConversation"/>) is rendered with the model's chat template and tokenized as the server
/// does; turn k's request is the conversation through its k-th tool result, the last about --turn-tokens tokens. Each
/// request generates --agent-tokens tokens greedily. Two engines, prefix caching on and off, run the same conversation
/// one after the other (their order alternating by round, a new conversation each round); the bench prints each turn's
/// time to first token and the prompt tokens reported as cached (TokenStream.CachedTokens), medians over the rounds, and
/// the last turn's TTFT ratio off/on.
/// </summary>
internal static class AgentLoopBench
{
    public static async Task<int> RunAsync(string[] args)
    {
        var a = new BenchArgs(args);
        var preset = a.Get("preset", "qwen2.5-0.5b");
        var precision = a.Get("precision", "int4");
        var dir = a.Get("model-dir", "") is { Length: > 0 } given ? given : RandomModelCache.GetOrCreate(preset, precision, 1234);
        var (turns, target, generate, rounds) = (a.Int("turns", 5), a.Int("turn-tokens", 2000), a.Int("agent-tokens", 8), a.Int("rounds", 2));
        var tokenizer = QwenTokenizer.FromDirectory(dir);
        var template = ChatTemplate.FromDirectory(dir);
        int[] stops = [tokenizer.GetTokenId("<|im_end|>")!.Value, tokenizer.GetTokenId("<|endoftext|>")!.Value];
        int[] Encode(AgentConversation c, int turn)
        {
            // As the server renders a chat request (split_special_tokens on: the conversation's own text is plain text).
            var rendered = template.RenderPrompt(c.Through(turn), c.Tools, addGenerationPrompt: true, CancellationToken.None);
            return tokenizer.Encode(rendered.Text, rendered.Content, CancellationToken.None);
        }

        var options = new EngineOptions
        {
            MaxModelLen = Math.Max(4096, target + generate + 256),
            IntraOpThreads = a.Int("threads", 0),
            ExecutionProvider = a.Get("ep", "cpu"),
        };
        Console.WriteLine($"agent loop, model {preset} {precision} ({dir}), {Environment.ProcessorCount} cores: {turns} turns, the last about {target} tokens, {generate} tokens generated per turn, {rounds} rounds");
        await using var on = InferenceEngine.Load(dir, options with { PrefixCaching = true });
        await using var off = InferenceEngine.Load(dir, options with { PrefixCaching = false });
        foreach (var engine in new[] { on, off })
        {
            await EngineBench.Generate(engine, EngineBench.Prompt(1, 16), 4); // warm-up
        }

        var ttft = new[] { new List<double>[turns], new List<double>[turns] }; // [on, off][turn]
        var cached = new[] { new List<int>[turns], new List<int>[turns] };
        foreach (var side in new[] { 0, 1 })
        {
            for (var t = 0; t < turns; t++)
            {
                (ttft[side][t], cached[side][t]) = ([], []);
            }
        }
        var prompts = new int[turns];
        for (var r = 0; r < rounds; r++)
        {
            var conversation = AgentConversation.Fit(100 + r, turns, target, (c, turn) => Encode(c, turn).Length);
            var requests = Enumerable.Range(1, turns).Select(turn => Encode(conversation, turn)).ToArray();
            for (var t = 0; t < turns; t++)
            {
                prompts[t] = requests[t].Length;
            }
            foreach (var side in r % 2 == 0 ? new[] { 0, 1 } : [1, 0])
            {
                var engine = side == 0 ? on : off;
                for (var t = 0; t < turns; t++)
                {
                    var submitted = Stopwatch.GetTimestamp();
                    var (stamps, reused) = await EngineBench.Timed(engine, new GenerationRequest(requests[t], new SamplingParams(), generate, stops));
                    ttft[side][t].Add(Stopwatch.GetElapsedTime(submitted, stamps[0]).TotalMilliseconds);
                    cached[side][t].Add(reused);
                }
            }
        }

        for (var t = 0; t < turns; t++)
        {
            var (mOn, mOff) = (Statistics.Median(ttft[0][t]), Statistics.Median(ttft[1][t]));
            Console.WriteLine($"turn {t + 1}: prompt {prompts[t]} tokens; caching on: TTFT {mOn:F0} ms ({PerRound(ttft[0][t])}), cached {PerRound(cached[0][t])}; off: TTFT {mOff:F0} ms ({PerRound(ttft[1][t])}), cached {PerRound(cached[1][t])}; off/on {mOff / mOn:F2}x");
        }
        var last = Statistics.Median(ttft[1][turns - 1]) / Statistics.Median(ttft[0][turns - 1]);
        Console.WriteLine($"turn {turns} TTFT uncached/cached: {last:F2}x (target >= 5x); medians of {rounds} rounds");
        Console.WriteLine($"peak RSS {BenchArgs.PeakRssBytes() / 1048576.0:F0} MiB");
        return 0;
    }

    /// <summary>One figure per round ("1987" or "1987/1990"): TTFTs in whole milliseconds, cached-token counts.</summary>
    private static string PerRound<T>(List<T> rounds)
        where T : IFormattable
        => string.Join('/', rounds.Select(n => n.ToString("F0", CultureInfo.InvariantCulture)));
}
