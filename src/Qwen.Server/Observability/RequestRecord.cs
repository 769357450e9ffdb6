using System.Diagnostics;

namespace Qwen.Server.Observability;

/// <summary>
/// The record of one generation request (chat or text completion), written exactly once however the request ends:
/// finished, refused (4xx), failed (5xx), cut short by shutdown (503), abandoned by its client, or cut off because its
/// client read too slowly (408 client_too_slow). It writes one log line (request id, model, status, prompt and completion
/// tokens, time to first token, duration, finish reasons, error code and param; never prompt or output text) and the per-request metrics:
/// qwen_requests_finished_total{finish_reason} per started choice (stop, length, tool_calls, cancelled when the client
/// went away, client_too_slow, error when a server-side error or shutdown ended it), generated tokens (as the engine
/// counts them, read by the client or not), time to first token, inter-token and end-to-end latency; and, from start to
/// write, the gauges of requests and sequences held. Error responses are counted where they are
/// sent (Errors.ErrorMapper), not here. Owned by one request; not thread-safe.
/// </summary>
internal sealed class RequestRecord
{
    /// <summary>The status logged for a request whose client went away: nginx's "client closed request" (no response was sent).</summary>
    public const int ClientClosedStatus = 499;

    /// <summary>The error code (and finish reason of every unfinished choice) of a request whose client read too slowly.</summary>
    public const string ClientTooSlowCode = "client_too_slow";

    private readonly long _start = Stopwatch.GetTimestamp();
    private int[] _completion = [];
    private long[] _lastAt = []; // per choice: when its count last grew (0: not yet observed)
    private string?[] _finish = [];
    private Func<int, int> _generated = _ => 0;
    private bool _written;

    private RequestRecord(string kind, string id)
    {
        Kind = kind;
        Id = id;
    }

    /// <summary>chat.completion or text_completion.</summary>
    public string Kind { get; }

    /// <summary>The response id (chatcmpl-… or cmpl-…), also sent as the X-Request-Id header.</summary>
    public string Id { get; }

    /// <summary>The served model.</summary>
    public string? Model { get; set; }

    /// <summary>Whether the client asked for a stream.</summary>
    public bool Stream { get; set; }

    /// <summary>Prompt tokens, once the prompt was tokenized and queued (counted once, whatever n is).</summary>
    public int? PromptTokens { get; private set; }

    /// <summary>Milliseconds from arrival to the first generated token of any choice.</summary>
    public double? TimeToFirstTokenMs { get; private set; }

    /// <summary>The status of the error response the request ended with, if any.</summary>
    public int? ErrorStatus { get; private set; }

    /// <summary>The error's code (or type when it has no code), as the log line's error field.</summary>
    public string? ErrorCode { get; private set; }

    /// <summary>The request field the error names (OpenAI's param, e.g. messages[0].content), as the log line's param field.</summary>
    public string? ErrorParam { get; private set; }

    /// <summary>Whether the client disconnected before the response was complete.</summary>
    public bool ClientGone { get; private set; }

    /// <summary>
    /// Tokens generated over all choices so far: per choice what the engine generated, which is more than the client saw
    /// when it stopped reading (tokens still buffered count: they cost a decode step each).
    /// </summary>
    public int CompletionTokens => _completion.Select((seen, i) => Math.Max(seen, _generated(i))).Sum();

    private Exception? Exception { get; set; }

    /// <summary>Starts the record of a request and attaches it to the request (the error middleware then leaves logging to it).</summary>
    public static RequestRecord Begin(HttpContext context, string kind, string id)
    {
        ArgumentNullException.ThrowIfNull(context);
        var record = new RequestRecord(kind, id);
        context.Features.Set(record);
        context.Response.Headers["X-Request-Id"] = id;
        return record;
    }

    /// <summary>
    /// The request's choices were queued in the engine: counts its prompt tokens once, and holds its choices in the gauges
    /// until <see cref="Write"/>. <paramref name="generated"/> gives a choice's tokens as the engine counts them (any thread).
    /// </summary>
    public void Started(int promptTokens, int choices, Func<int, int>? generated = null)
    {
        PromptTokens = promptTokens;
        _completion = new int[choices];
        _lastAt = new long[choices];
        _finish = new string?[choices];
        _generated = generated ?? (_ => 0);
        ServerMetrics.PromptTokens.Inc(promptTokens);
        ServerMetrics.RequestsInGeneration.Inc();
        ServerMetrics.SequencesHeld.Inc(choices);
    }

    /// <summary>Called with a choice's running token count on each of its events: time to first token and inter-token gaps.</summary>
    public void Observe(int choice, int tokens)
    {
        var now = Stopwatch.GetTimestamp();
        var lastAt = _lastAt[choice];
        if (lastAt != 0 && tokens <= _completion[choice])
        {
            return;
        }
        _completion[choice] = tokens;
        if (TimeToFirstTokenMs is null && tokens > 0)
        {
            TimeToFirstTokenMs = Stopwatch.GetElapsedTime(_start, now).TotalMilliseconds;
            ServerMetrics.TimeToFirstToken.Observe(TimeToFirstTokenMs.Value / 1000);
        }
        else if (lastAt != 0)
        {
            ServerMetrics.InterTokenLatency.Observe(Stopwatch.GetElapsedTime(lastAt, now).TotalSeconds);
        }
        _lastAt[choice] = now;
    }

    /// <summary>Choice <paramref name="choice"/> finished with <paramref name="reason"/> (stop, length or tool_calls).</summary>
    public void Finish(int choice, string reason) => _finish[choice] = reason;

    /// <summary>The request ended with an error response: its status, its code (or type), the failure behind it and the field it names.</summary>
    public void Fail(int status, string code, Exception e, string? param = null)
    {
        ErrorStatus = status;
        ErrorCode = code;
        ErrorParam = param;
        Exception = e;
    }

    /// <summary>Writes the log line and the metrics; later calls do nothing.</summary>
    public void Write(ILogger log, HttpContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        if (_written)
        {
            return;
        }
        _written = true;
        ClientGone |= ErrorStatus is null && context.RequestAborted.IsCancellationRequested;
        var elapsed = Stopwatch.GetElapsedTime(_start);
        var unfinished = ErrorCode == ClientTooSlowCode ? ClientTooSlowCode : ClientGone ? "cancelled" : "error";
        var finish = _finish.Select(f => f ?? unfinished).ToArray();
        if (PromptTokens is not null)
        {
            ServerMetrics.RequestsInGeneration.Dec();
            ServerMetrics.SequencesHeld.Dec(_finish.Length);
            ServerMetrics.RequestLatency.Observe(elapsed.TotalSeconds);
            ServerMetrics.GenerationTokens.Inc(CompletionTokens);
            foreach (var f in finish)
            {
                ServerMetrics.Finished.WithLabels(f).Inc();
            }
        }
        var status = ErrorStatus ?? (ClientGone ? ClientClosedStatus : 200);
        var level = status == 500 ? LogLevel.Error : status >= 500 ? LogLevel.Warning : LogLevel.Information; // 503: shutdown or overload, expected
        log.Log(
            level,
            status == 500 ? Exception : null,
            "{Kind} {RequestId} status={Status} model={Model} prompt_tokens={PromptTokens} completion_tokens={CompletionTokens} ttft_ms={TtftMs} duration_ms={DurationMs} finish={Finish} stream={Stream} error={ErrorCode} param={Param}",
            Kind,
            Id,
            status,
            Model,
            PromptTokens,
            CompletionTokens,
            TimeToFirstTokenMs is { } ttft ? Math.Round(ttft, 1) : null,
            Math.Round(elapsed.TotalMilliseconds, 1),
            string.Join(",", finish),
            Stream,
            ErrorCode,
            ErrorParam);
    }
}
