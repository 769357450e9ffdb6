using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Json;
using System.Text.Json;
using Qwen.Bench.Load;

namespace Qwen.Bench.Pool;

/// <summary>
/// Replicas of the real server behind two pickers: round-robin (today's Kubernetes Service) and a stand-in for the
/// Gateway API Inference Extension's queue and KV-cache scorers reading the replicas' real /metrics (<see cref="QueueKvPicker"/>).
/// Usage:
/// <code>
/// pool [--replicas 3] [--rate 2,4,8,12,16] [--seconds 15 | --requests N] [--rounds 3]   Poisson arrivals; per run N = max(40, rate x seconds)
///      [--prompt-tokens 32-96] [--max-tokens lognormal:64,128,1024]      lengths as in `load` (a long tail piles up under round-robin)
///      [--model-dir DIR] [--server-dll PATH] [--server-args "--max-num-seqs 2 --threads 1"]
///      [--refresh-ms 50] [--seed 7] [--timeout 300] [--out pool.json]
/// </code>
/// Each replica is <c>dotnet Qwen.Server.dll</c> on a free loopback port (the demo model, or --model-dir), with few
/// slots and one thread so that several fit on a small machine. Per level both pickers send the same request sequence
/// (same arrival times, prompts and max_tokens, drawn from --seed and the level) through the load generator's
/// <see cref="StreamingClient"/>, one after the other with the replicas idle in between; which one goes first alternates
/// from level to level, so drift of the machine hits both. The queue+kv picker reads each replica's
/// qwen_requests_waiting and qwen_kv_cache_usage_ratio scraped every --refresh-ms (the EPP's default refresh is 50 ms),
/// so its picks use figures up to that old. Prints per level and picker TTFT and E2E percentiles, throughput, errors
/// and how the picks and the completion tokens spread over the replicas; --out writes them as JSON.
/// </summary>
internal static class PoolBench
{
    /// <summary>Each replica's settings unless --server-args says otherwise: 2 KV slots and 1 ONNX Runtime thread.</summary>
    public const string DefaultServerArgs = "--max-num-seqs 2 --threads 1";

    /// <summary>One request as sent: the replica picked, the age of the metrics behind the pick (none for round-robin), its result; <paramref name="RunSeconds"/> is the whole run's length on a run's first request, else 0.</summary>
    private sealed record Sent(int Replica, double? MetricsAgeMs, StreamResult Result, double RunSeconds);

    /// <summary>Runs the bench with its command-line <paramref name="args"/>; exit code 1 when any request failed.</summary>
    public static async Task<int> RunAsync(string[] args)
    {
        var a = new BenchArgs(args);
        var count = a.Int("replicas", 3);
        ArgumentOutOfRangeException.ThrowIfLessThan(count, 2, "--replicas");
        var rates = a.Doubles("rate", "2,4,8,12,16");
        var seconds = a.Double("seconds") ?? 15;
        var rounds = a.Int("rounds", 3);
        var promptTokens = LengthDistribution.Parse(a.Get("prompt-tokens", "32-96"));
        var maxTokens = LengthDistribution.Parse(a.Get("max-tokens", "lognormal:64,128,1024"));
        var seed = a.Int("seed", 7);
        var refresh = TimeSpan.FromMilliseconds(a.Double("refresh-ms") ?? 50);
        var timeout = TimeSpan.FromSeconds(a.Double("timeout") ?? 300);
        var serverArgs = a.Get("server-args", DefaultServerArgs).Split(' ', StringSplitOptions.RemoveEmptyEntries).ToList();
        if (a.Get("model-dir", "") is { Length: > 0 } modelDir)
        {
            serverArgs.InsertRange(0, ["--model", modelDir]);
        }
        var dll = a.Get("server-dll", SoakBench.DefaultServerDll());
        var loadBefore = LoadAverage();

        var replicas = new List<Replica>();
        try
        {
            // The first replica alone: the demo model is built on a first start, and several starts must not race to build it.
            replicas.Add(Replica.Start(dll, serverArgs));
            await replicas[0].WaitReadyAsync(TimeSpan.FromMinutes(5));
            replicas.AddRange(Enumerable.Range(1, count - 1).Select(_ => Replica.Start(dll, serverArgs)));
            await Task.WhenAll(replicas.Select(r => r.WaitReadyAsync(TimeSpan.FromMinutes(2))));
            var model = (await replicas[0].Http.GetFromJsonAsync<JsonElement>("v1/models")).GetProperty("data")[0].GetProperty("id").GetString()!;
            var clients = replicas.Select(r => new StreamingClient(r.Http, model, null, timeout: timeout)).ToArray();
            foreach (var c in clients)
            {
                await c.RunAsync("warm up", 4, CancellationToken.None);
            }
            Console.WriteLine($"pool: {count} replicas of {model} ({string.Join(' ', serverArgs)}) at {string.Join(", ", replicas.Select(r => r.Url.Port))}; load average before {loadBefore}");

            await using var poller = new MetricsPoller([.. replicas.Select(r => r.Http)], refresh);
            await poller.StartAsync();
            var levels = new List<PoolLevel>();
            for (var li = 0; li < rates.Count; li++)
            {
                var rate = rates[li];
                var n = a.Get("requests", "") is { Length: > 0 } given ? int.Parse(given, CultureInfo.InvariantCulture) : Math.Max(40, (int)Math.Ceiling(rate * seconds));
                var label = rate.ToString(CultureInfo.InvariantCulture) + "/s";
                var runs = new List<PickerRun>();
                var sent = new Dictionary<string, List<Sent>>();
                for (var round = 0; round < rounds; round++)
                {
                    // One request sequence per round, the same for both pickers; which picker goes first alternates from round
                    // to round and level to level, so a machine that slows down (or frees up) meanwhile hits both.
                    var plan = Plan(new Random((seed * 1000) + (li * 10) + round), rate, n, promptTokens, maxTokens);
                    foreach (var queueKv in (li + round) % 2 == 0 ? new[] { false, true } : [true, false])
                    {
                        await poller.WaitIdleAsync(TimeSpan.FromSeconds(60));
                        double? age = null; // of the figures behind the latest pick
                        IReplicaPicker picker = queueKv
                            ? new QueueKvPicker(() =>
                            {
                                var latest = poller.Latest();
                                age = OldestMs(latest);
                                return latest;
                            }, new Random((seed * 1000) + (li * 10) + round + 500))
                            : new RoundRobinPicker(count);
                        var result = await RunAsync(picker, () => age, clients, plan);
                        var run = Summarize(picker.Name, round, runs.Count % 2 == 0, label, rate, count, result);
                        runs.Add(run);
                        sent.TryAdd(picker.Name, []);
                        sent[picker.Name].AddRange(result);
                        Console.Error.WriteLine(string.Create(CultureInfo.InvariantCulture, $"pool {label} round {round + 1} {picker.Name}: TTFT p50/p99 {run.Summary.TtftP50:F0}/{run.Summary.TtftP99:F0} ms, {run.Summary.OutputTokensPerSecond:F0} tok/s, picks {string.Join('/', run.Picks)}, errors {run.Summary.Errors.Values.Sum()}"));
                    }
                }
                levels.Add(new PoolLevel(label, rate, n, rounds, [.. sent.OrderBy(p => p.Key == "round-robin" ? 0 : 1).Select(p => Summarize(p.Key, null, null, label, rate, count, p.Value))], runs));
            }
            var loadAfter = LoadAverage();
            Print(levels, model, count, serverArgs, promptTokens, maxTokens, refresh, poller, loadBefore, loadAfter);
            if (a.Get("out", "") is { Length: > 0 } outPath)
            {
                await BenchJson.WriteAsync(outPath, new
                {
                    model,
                    replicas = count,
                    server_args = string.Join(' ', serverArgs),
                    arrivals = "poisson",
                    prompt_tokens = promptTokens.ToString(),
                    max_tokens = maxTokens.ToString(),
                    refresh_ms = refresh.TotalMilliseconds,
                    seed,
                    scrapes = poller.Scrapes,
                    scrape_failures = poller.Failures,
                    processors = Environment.ProcessorCount,
                    load_average_before = loadBefore,
                    load_average_after = loadAfter,
                    levels,
                });
            }
            return levels.Any(l => l.Pooled.Any(r => r.Summary.Errors.Count > 0)) ? 1 : 0;
        }
        finally
        {
            foreach (var r in replicas)
            {
                r.Dispose();
            }
        }
    }

    /// <summary>A level's request sequence: Poisson arrivals at <paramref name="rate"/> per second, prompts and lengths drawn from <paramref name="random"/>.</summary>
    private static List<PlannedRequest> Plan(Random random, double rate, int n, LengthDistribution promptTokens, LengthDistribution maxTokens)
    {
        var plan = new List<PlannedRequest>(n);
        var at = 0.0;
        for (var i = 0; i < n; i++)
        {
            var prompt = string.Join(' ', Enumerable.Range(0, promptTokens.Draw(random)).Select(_ => LoadBench.Vocabulary[random.Next(LoadBench.Vocabulary.Length)]));
            plan.Add(new PlannedRequest(at, prompt, maxTokens.Draw(random)));
            at += -Math.Log(1 - random.NextDouble()) / rate; // exponential gaps, mean 1/rate
        }
        return plan;
    }

    /// <summary>How old the oldest of <paramref name="latest"/> is, in milliseconds.</summary>
    private static double OldestMs(IReadOnlyList<ReplicaMetrics> latest)
    {
        var now = Stopwatch.GetTimestamp();
        return latest.Max(m => Stopwatch.GetElapsedTime(m.ScrapedAt, now).TotalMilliseconds);
    }

    /// <summary>
    /// Sends <paramref name="plan"/> on time, each request to the replica <paramref name="picker"/> names at its send
    /// time (<paramref name="pickAge"/>: how old the figures behind that pick were), and waits for all; the run lasts from the
    /// first send to the last response.
    /// </summary>
    private static async Task<List<Sent>> RunAsync(IReplicaPicker picker, Func<double?> pickAge, StreamingClient[] clients, List<PlannedRequest> plan)
    {
        var tasks = new List<Task<Sent>>(plan.Count);
        var sw = Stopwatch.StartNew();
        foreach (var p in plan)
        {
            if (p.At > sw.Elapsed.TotalSeconds)
            {
                await Task.Delay(TimeSpan.FromSeconds(p.At - sw.Elapsed.TotalSeconds));
            }
            var i = picker.Pick();
            tasks.Add(SendAsync(clients[i], i, pickAge(), p));
        }
        var sent = (await Task.WhenAll(tasks)).ToList();
        var seconds = sw.Elapsed.TotalSeconds;
        // The run's length rides on its requests (the pooled figures add the runs' lengths up).
        return [.. sent.Select((s, k) => k == 0 ? s with { RunSeconds = seconds } : s)];
    }

    private static async Task<Sent> SendAsync(StreamingClient client, int replica, double? age, PlannedRequest p)
        => new(replica, age, await client.RunAsync(p.Prompt, p.MaxTokens, CancellationToken.None), 0);

    /// <summary>The figures of <paramref name="sent"/>: one run (<paramref name="round"/> given) or a picker's runs pooled.</summary>
    private static PickerRun Summarize(string picker, int? round, bool? first, string label, double rate, int replicas, List<Sent> sent)
    {
        var picks = new int[replicas];
        var tokens = new long[replicas];
        foreach (var s in sent)
        {
            picks[s.Replica]++;
            tokens[s.Replica] += s.Result.Error is null ? s.Result.OutputTokens : 0;
        }
        var summary = LevelSummary.From(label, rate, [.. sent.Select(s => s.Result)], sent.Sum(s => s.RunSeconds));
        var ages = sent.Where(s => s.MetricsAgeMs is not null).Select(s => s.MetricsAgeMs!.Value).ToList();
        return new PickerRun(picker, round, first, summary, picks, tokens, tokens.Sum() == 0 ? double.NaN : tokens.Max() / tokens.Average(),
            ages.Count > 0 ? ages.Average() : null, ages.Count > 0 ? ages.Max() : null);
    }

    private static void Print(List<PoolLevel> levels, string model, int count, List<string> serverArgs, LengthDistribution promptTokens, LengthDistribution maxTokens, TimeSpan refresh, MetricsPoller poller, string loadBefore, string loadAfter)
    {
        Console.WriteLine($"model {model}, {count} replicas ({string.Join(' ', serverArgs)}); Poisson arrivals; prompt tokens {promptTokens} (+ template), output tokens {maxTokens} (ignore_eos); metrics refreshed every {refresh.TotalMilliseconds:F0} ms ({poller.Scrapes} scrapes, {poller.Failures} failed)");
        Console.WriteLine("| rate | picker | requests (ok) | req/s | completion tok/s | TTFT p50/p90/p99 ms | E2E p50/p90 ms | picks per replica | completion tokens per replica (max/mean) | metrics age mean/max ms | errors |");
        Console.WriteLine("|---|---|---|---|---|---|---|---|---|---|---|");
        foreach (var l in levels)
        {
            foreach (var r in l.Pooled)
            {
                var s = r.Summary;
                var age = r.MetricsAgeMeanMs is { } mean ? string.Create(CultureInfo.InvariantCulture, $"{mean:F0}/{r.MetricsAgeMaxMs:F0}") : "-";
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"| {l.Level} | {r.Picker} | {s.Requests} ({s.Succeeded}) | {s.RequestsPerSecond:F2} | {s.OutputTokensPerSecond:F0} | {s.TtftP50:F0}/{s.TtftP90:F0}/{s.TtftP99:F0} | {s.E2eP50:F0}/{s.E2eP90:F0} | {string.Join('/', r.Picks)} | {string.Join('/', r.CompletionTokens)} ({r.TokenImbalance:F2}) | {age} | {(s.Errors.Count == 0 ? "0" : string.Join(", ", s.Errors.Select(e => $"{e.Key}: {e.Value}")))} |"));
            }
        }
        Console.WriteLine($"Each row pools a picker's {levels.FirstOrDefault()?.Rounds} runs of the level (the same request sequences for both pickers); percentiles are nearest-rank over the successful requests.");
        foreach (var l in levels)
        {
            string Ratios(Func<LevelSummary, double> figure) => string.Join(' ', l.Runs.GroupBy(r => r.Round).Select(g => figure(g.Single(r => r.Picker != "round-robin").Summary) / figure(g.Single(r => r.Picker == "round-robin").Summary)).Select(x => x.ToString("F2", CultureInfo.InvariantCulture)));
            var (rr, qk) = (l.Pooled[0].Summary, l.Pooled[1].Summary);
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{l.Level}: queue+kv / round-robin, pooled: TTFT p50 {qk.TtftP50 / rr.TtftP50:F2}, p90 {qk.TtftP90 / rr.TtftP90:F2}, p99 {qk.TtftP99 / rr.TtftP99:F2}, E2E p50 {qk.E2eP50 / rr.E2eP50:F2}, completion tok/s {qk.OutputTokensPerSecond / rr.OutputTokensPerSecond:F2}; per round: TTFT p90 {Ratios(s => s.TtftP90)}, p99 {Ratios(s => s.TtftP99)}"));
        }
        Console.WriteLine($"load average before {loadBefore}, after {loadAfter} ({Environment.ProcessorCount} processors)");
    }

    /// <summary>The 1, 5 and 15 minute load averages (/proc/loadavg), to say how busy the machine was.</summary>
    private static string LoadAverage()
        => File.Exists("/proc/loadavg") ? string.Join(' ', File.ReadAllText("/proc/loadavg").Split(' ').Take(3)) : "unknown";
}
