// Benchmark programs: each prints its figures (never asserted in tests). Usage: dotnet run -c Release --project bench/Qwen.Bench -- <name> [options]
using Qwen.Bench;

var benches = new Dictionary<string, Func<string[], Task<int>>>(StringComparer.OrdinalIgnoreCase)
{
    ["export"] = ExportBench.RunAsync,
    ["download"] = DownloadBench.RunAsync,
    ["engine"] = EngineBench.RunAsync,
    ["agent"] = AgentLoopBench.RunAsync,
    ["tokenizer"] = TokenizerBench.RunAsync,
    ["load"] = LoadBench.RunAsync,
    ["sampler"] = SamplerBench.RunAsync,
    ["parity"] = ParityBench.RunAsync,
    ["grammar"] = GrammarBench.RunAsync,
    ["soak"] = SoakBench.RunAsync,
    ["pool"] = Qwen.Bench.Pool.PoolBench.RunAsync,
    ["hub-models"] = HubModelsBench.RunAsync,
    ["llama"] = Qwen.Bench.Llama.LlamaBench.RunAsync,
    ["yarn"] = YarnBench.RunAsync,
};
if (args.Length == 0 || !benches.TryGetValue(args[0], out var run))
{
    Console.Error.WriteLine($"usage: Qwen.Bench <{string.Join('|', benches.Keys)}> [options]");
    return 2;
}
try
{
    return await run(args[1..]);
}
catch (Exception e) when (e is HttpRequestException or IOException or ArgumentException or FormatException or InvalidOperationException)
{
    // A server that is not there, a bad option, an unreadable file or an execution provider this build lacks: one line, not a stack trace.
    Console.Error.WriteLine($"Qwen.Bench {args[0]}: {e.Message}");
    return 1;
}
