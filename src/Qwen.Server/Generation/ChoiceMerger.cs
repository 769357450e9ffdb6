using System.Threading.Channels;

namespace Qwen.Server.Generation;

/// <summary>
/// Runs the n choices of a request side by side and yields their events as they come. The merge channel holds a few
/// events per choice, so a consumer that stops (a socket that does not drain) stops the choices, and the engine then
/// ends their sequences once they are EngineOptions.MaxClientLag tokens ahead: backpressure reaches the engine.
/// </summary>
internal static class ChoiceMerger
{
    /// <summary>Events a choice may run ahead of the consumer: enough to keep n pumps busy, too few to hold memory.</summary>
    public const int EventsPerChoice = 4;

    public static async IAsyncEnumerable<ChoiceEvent> MergeAsync(IReadOnlyList<IAsyncEnumerable<ChoiceEvent>> choices, [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken ct)
    {
        if (choices.Count == 1)
        {
            await foreach (var e in choices[0].WithCancellation(ct).ConfigureAwait(false))
            {
                yield return e;
            }
            yield break;
        }
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(ct);
        var channel = Channel.CreateBounded<ChoiceEvent>(new BoundedChannelOptions(EventsPerChoice * choices.Count) { SingleReader = true, FullMode = BoundedChannelFullMode.Wait });
        var pumps = choices.Select(async choice =>
        {
            await foreach (var e in choice.WithCancellation(stop.Token).ConfigureAwait(false))
            {
                await channel.Writer.WriteAsync(e, stop.Token).ConfigureAwait(false);
            }
        }).ToArray();
        _ = Task.WhenAll(pumps).ContinueWith(t => channel.Writer.TryComplete(t.Exception?.InnerException), TaskScheduler.Default);
        try
        {
            await foreach (var item in channel.Reader.ReadAllAsync(ct).ConfigureAwait(false))
            {
                yield return item;
            }
        }
        finally
        {
            await stop.CancelAsync().ConfigureAwait(false); // a consumer that stops early cancels every choice
        }
    }
}
