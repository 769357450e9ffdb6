using System.Text.Json;
using Xunit.Abstractions;

namespace Qwen.Server.Tests.Robustness;

/// <summary>
/// Hundreds of streams abandoned at three kinds of points, all at once: before the first token (a 1,500-token prompt,
/// aborted as soon as the server has accepted it), mid-stream (after k token events) and during a long chunked
/// prefill (the engine held inside chunk 2-5 of 6 while the client aborts, so the abort provably lands mid-prefill).
/// Afterwards every KV slot is free, nothing runs or waits, and the process's memory, threads and descriptors are back
/// near their baseline (bounds in <see cref="ProcessGauges.RssBoundBytes"/>).
/// </summary>
[Collection(RobustnessCollection.Name)]
public sealed class DisconnectStormTests(StormServerFixture server, ITestOutputHelper output) : IClassFixture<StormServerFixture>
{
    private const int BeforeFirstToken = 120;
    private const int MidStream = 120;
    private const int DuringPrefill = 80;

    /// <summary>Target prompt length of the long prompts (template included); with 256-token chunks, six prefill steps.</summary>
    private const int LongPrompt = 1500;

    private int _retries;

    [Fact]
    public async Task StreamingRequests_AbortedBeforeFirstTokenMidStreamAndDuringPrefill_FreeEverySlotAndMemory()
    {
        var tokenizer = server.Model.Tokenizer;
        int Single(string word) => Assert.Single(tokenizer.Encode(word));
        // One marker per before-first-token worker (a watch finds that worker's prompt), one for the prefill phase.
        string[] aWords = ["alpha", "beta", "delta"];
        var aMarkers = aWords.Select(w => Single(" " + w)).ToArray();
        var gamma = Single(" gamma");
        server.Runner.SetMarkers([.. aMarkers, gamma]);
        var aPrompts = new List<(string Body, int Tokens)>();
        foreach (var w in aWords)
        {
            aPrompts.Add(await LongPromptAsync(w));
        }
        var lengthA = aPrompts[0].Tokens;
        var (promptC, lengthC) = await LongPromptAsync("gamma");

        // A client that closes the connection the moment it stops reading (no draining of the rest of the stream).
        using var handler = new SocketsHttpHandler { MaxResponseDrainSize = 0 };
        using var http = new HttpClient(handler) { BaseAddress = server.BaseAddress, Timeout = TimeSpan.FromSeconds(60) };
        var random = new Random(4242);
        var a = Enumerable.Range(0, BeforeFirstToken).Select(_ => random.Next(2) == 0).ToList(); // true: wait until its prefill has started
        var b = Enumerable.Range(0, MidStream).Select(_ => 1 + random.Next(30)).ToList();
        var c = Enumerable.Range(0, DuringPrefill).Select(_ => 2 + random.Next(4)).ToList(); // the chunk to abort in, of 6

        // Warm-up: one of each kind, so lazily built pools, ONNX Runtime's arenas for long prompts and the client's
        // connections are in the baseline.
        await AbortBeforeFirstTokenAsync(http, aMarkers[0], aPrompts[0].Body, true);
        await AbortMidStreamAsync(http, 5);
        await AbortDuringPrefillAsync(http, gamma, promptC, lengthC, 3);
        await MetricsSnapshot.WaitIdleAsync(server.Http, server.Model.Engine, TimeSpan.FromSeconds(15));
        server.Runner.ResetRecords();
        var before = ProcessGauges.Read();

        var problems = new List<string>();
        void Problem(string p)
        {
            lock (problems)
            {
                problems.Add(p);
            }
        }
        var held = new List<(int Chunk, int Past)>();
        var aborted = new List<string>();
        _retries = 0;
        await Task.WhenAll(
            Pool(a, aWords.Length, async (worker, waitForPrefill) =>
            {
                var (where, p) = await AbortBeforeFirstTokenAsync(http, aMarkers[worker], aPrompts[worker].Body, waitForPrefill);
                lock (aborted)
                {
                    aborted.Add(where);
                }
                if (p is not null)
                {
                    Problem(p);
                }
            }),
            Pool(b, 4, async (_, k) =>
            {
                if (await AbortMidStreamAsync(http, k) is { } p)
                {
                    Problem(p);
                }
            }),
            Pool(c, 1, async (_, chunk) =>
            {
                var (past, p) = await AbortDuringPrefillAsync(http, gamma, promptC, lengthC, chunk);
                lock (held)
                {
                    held.Add((chunk, past));
                }
                if (p is not null)
                {
                    Problem(p);
                }
            }));

        var idle = await MetricsSnapshot.WaitIdleAsync(server.Http, server.Model.Engine, TimeSpan.FromSeconds(15));
        var stats = server.Model.Engine.GetStats();
        http.Dispose();
        handler.Dispose();
        var after = ProcessGauges.Read();

        // The server's side, from the probe: how far each long prompt got before its abort was seen.
        var seenA = aMarkers.SelectMany(server.Runner.Prefilled).ToList();
        var seenC = server.Runner.Prefilled(gamma);
        output.WriteLine($"storm: {a.Count + b.Count + c.Count} streams aborted: before the first token {a.Count} (prompt {lengthA} tokens, no token event read; aborted {aborted.Count(w => w == "accepted")} once accepted, {aborted.Count(w => w == "prefilling")} once their prefill had started; server side: " +
            $"{a.Count - seenA.Count} still queued, {seenA.Count(p => p < lengthA)} cut mid-prefill, {seenA.Count(p => p >= lengthA)} prefilled before the abort was seen), " +
            $"mid-stream {b.Count} (after 1-30 token events), during prefill {c.Count} (prompt {lengthC} tokens, engine held at {string.Join("/", held.GroupBy(h => h.Chunk).OrderBy(g => g.Key).Select(g => $"chunk {g.Key} x{g.Count()}"))}; " +
            $"{seenC.Count(p => p < lengthC)} of {seenC.Count} left before their prefill completed); 429 retries {_retries}; " +
            $"after: /metrics {idle}, engine kv tokens {stats.KvTokensUsed}, slots used {stats.SlotsUsed}; before {before}; after {after}; growth {after.Growth(before)} " +
            $"({ProcessGauges.Bounds}); {problems.Count} problems");
        foreach (var p in problems.Take(10))
        {
            output.WriteLine(p);
        }

        Assert.Empty(problems);
        Assert.Equal(c.Count, held.Count);
        Assert.True(idle.Idle, $"after the storm /metrics shows {idle}");
        Assert.Equal(0, stats.Running);
        Assert.Equal(0, stats.Waiting);
        Assert.Equal(0, stats.SlotsUsed);
        Assert.Equal(0, stats.KvTokensUsed);
        after.AssertWithinBounds(before);
        await ProcessGauges.AssertServesNormalRequestAsync(server.Http);
    }

    /// <summary>Runs <paramref name="run"/> over <paramref name="items"/> on <paramref name="width"/> workers (each passes its index).</summary>
    private static async Task Pool<T>(IReadOnlyList<T> items, int width, Func<int, T, Task> run)
    {
        var next = -1;
        await Task.WhenAll(Enumerable.Range(0, width).Select(async worker =>
        {
            for (var i = Interlocked.Increment(ref next); i < items.Count; i = Interlocked.Increment(ref next))
            {
                await run(worker, items[i]);
            }
        }));
    }

    /// <summary>
    /// Sends until the answer is not a 429: while the engine is held, aborted requests still count against the queue until
    /// its next step drops them, so a burst of new ones may find it full; a client honouring Retry-After sends again.
    /// </summary>
    private async Task<SseStream> SendAsync(Func<Task<SseStream>> send)
    {
        for (var attempt = 0; ; attempt++)
        {
            var r = await send();
            if (r.Status != 429 || attempt == 100)
            {
                return r;
            }
            Interlocked.Increment(ref _retries);
            await Task.Delay(20);
        }
    }

    /// <summary>A 1,500-token chat prompt whose first words are the marker; returns its body and its exact length (by /tokenize).</summary>
    private async Task<(string Body, int Tokens)> LongPromptAsync(string marker)
    {
        string[] filler = ["river", "cloud", "lamp", "north", "stone", "light", "water", "green"];
        var text = $"Topic {marker} " + string.Join(' ', Enumerable.Range(0, LongPrompt - 40).Select(i => filler[i % filler.Length]));
        using var response = await server.Http.PostAsync("/tokenize", new StringContent(JsonSerializer.Serialize(new { messages = new[] { new { role = "user", content = text } } }), System.Text.Encoding.UTF8, "application/json"));
        var count = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.GetProperty("count").GetInt32();
        Assert.InRange(count, LongPrompt - 100, LongPrompt + 100);
        return (SseStream.ChatBody(text, 50), count);
    }

    /// <summary>
    /// Reads the first event (the role chunk: the server has accepted and queued the request), then, when
    /// <paramref name="waitForPrefill"/>, waits until the engine has started prefilling this prompt (or 2 s: it is still
    /// queued), and closes the connection before any token event.
    /// </summary>
    private async Task<(string Where, string? Problem)> AbortBeforeFirstTokenAsync(HttpClient http, int marker, string body, bool waitForPrefill)
    {
        var started = false;
        var r = await SendAsync(async () =>
        {
            var watch = waitForPrefill ? server.Runner.Watch(marker) : null;
            try
            {
                return await SseStream.RunAsync(http, body, CancellationToken.None, async _ =>
                {
                    started = watch is not null && await Task.WhenAny(watch.Reached.Task, Task.Delay(2000)) == watch.Reached.Task;
                    return false;
                });
            }
            finally
            {
                if (watch is not null)
                {
                    server.Runner.Disarm(watch);
                }
            }
        });
        var problem = r.Status != 200 || r.Events.Count != 1 || Content(r.Events[0]) is not ""
            ? $"before-first-token: expected the role chunk first, got {r.Status} [{string.Join(" | ", r.Events)}] {r.ErrorBody}" : null;
        return (started ? "prefilling" : "accepted", problem);
    }

    /// <summary>Reads the role chunk and <paramref name="tokens"/> token events of a 300-token stream, then closes the connection.</summary>
    private async Task<string?> AbortMidStreamAsync(HttpClient http, int tokens)
    {
        var r = await SendAsync(() => SseStream.RunAsync(http, SseStream.ChatBody("tell me more", 300), CancellationToken.None, n => n < 1 + tokens));
        var got = r.Events.Skip(1).Count(e => Content(e) is not null);
        return r.Status == 200 && got == tokens ? null : $"mid-stream: expected {tokens} token events, got {got} ({r.Status}, {r.Events.Count} events) {r.ErrorBody}";
    }

    /// <summary>
    /// Arms a hold at chunk <paramref name="chunk"/> of the marked prompt, sends it, and once the engine waits inside that
    /// chunk aborts the client (no token can exist yet), then lets the engine go on. Returns the tokens cached at the hold.
    /// </summary>
    private async Task<(int Past, string? Problem)> AbortDuringPrefillAsync(HttpClient http, int marker, string body, int length, int chunk)
    {
        var hold = server.Runner.Arm(marker, (chunk - 1) * StormServerFixture.ChunkSize);
        try
        {
            for (var attempt = 0; attempt <= 100; attempt++)
            {
                using var cts = new CancellationTokenSource();
                var run = SseStream.RunAsync(http, body, cts.Token, n => true);
                if (await Task.WhenAny(hold.Reached.Task, run).WaitAsync(TimeSpan.FromSeconds(30)) == run)
                {
                    var early = await run;
                    if (early.Status == 429)
                    {
                        Interlocked.Increment(ref _retries);
                        await Task.Delay(20);
                        continue;
                    }
                    return (-1, $"during-prefill: the stream ended before its prefill reached chunk {chunk}: {early.Status} [{string.Join(" | ", early.Events.Take(3))}] {early.ErrorBody}");
                }
                var past = await hold.Reached.Task;
                await cts.CancelAsync(); // the client goes away while the engine is inside the prefill chunk
                try
                {
                    await run;
                }
                catch (Exception e) when (e is OperationCanceledException or HttpRequestException or IOException)
                {
                    // The abort itself.
                }
                var inPrefill = past >= StormServerFixture.ChunkSize && past < length;
                return (past, inPrefill ? null : $"during-prefill: held at {past} of {length} prompt tokens");
            }
            return (-1, "during-prefill: refused 100 times");
        }
        finally
        {
            server.Runner.Disarm(hold);
            hold.Release();
        }
    }

    /// <summary>The delta content of a chunk event ("" for the role chunk), or null for other events.</summary>
    private static string? Content(string data)
    {
        using var doc = JsonDocument.Parse(data);
        return doc.RootElement.TryGetProperty("choices", out var choices) && choices.GetArrayLength() > 0 && choices[0].GetProperty("delta").TryGetProperty("content", out var content)
            ? content.GetString() : null;
    }
}
