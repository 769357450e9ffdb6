using Qwen.Server.Hosting;
using Qwen.Server.Streaming;
using Qwen.Server.Validation;

namespace Qwen.Server.Endpoints;

/// <summary>Starts the n choices of a request (choice i samples with seed + i), all or none: an error cancels those already queued.</summary>
internal static class ChoiceStarter
{
    public static List<IAsyncEnumerable<ChoiceEvent>> Start(ModelHost model, int[] prompt, GenerationSettings s, ToolChoicePlan plan, bool parallelToolCalls, CancellationTokenSource cts)
    {
        var choices = new List<IAsyncEnumerable<ChoiceEvent>>();
        try
        {
            for (var i = 0; i < s.N; i++)
            {
                var sampling = s.Sampling.Seed is { } seed ? s.Sampling with { Seed = seed + (ulong)i } : s.Sampling;
                choices.Add(ChoiceGenerator.Start(model, prompt, sampling, s, plan, parallelToolCalls, cts.Token));
            }
        }
        catch
        {
            cts.Cancel();
            throw;
        }
        return choices;
    }
}
