using Qwen.Inference.Sampling;

namespace Qwen.Inference.Scheduling;

/// <summary>
/// Samplers for the rows of one decode step: the rows run on the engine loop thread with the first sampler, or, from
/// <c>minParallelRows</c> rows on, spread over up to one worker per core (at least two), each with a sampler of its own
/// (a sampler's scratch buffers are vocabulary-sized, about 3 MB for Qwen2.5, so they are made on first use and kept).
/// A worker samples the rows j ≡ w (mod workers), so each row is touched by one thread; the caller emits the results
/// afterwards, on its own thread. Called from the engine loop thread only.
/// </summary>
internal sealed class SamplerPool(int vocabSize, int minParallelRows)
{
    private readonly Sampler?[] _samplers = new Sampler?[Math.Max(2, Environment.ProcessorCount)];

    /// <summary>The engine loop thread's sampler.</summary>
    public Sampler First => Get(0);

    /// <summary>Calls <paramref name="body"/>(sampler, rows[start + j]) for every j in [0, count), in parallel when there are enough rows.</summary>
    public void ForEach(int[] rows, int start, int count, Action<Sampler, int> body)
    {
        if (count < Math.Max(minParallelRows, 2))
        {
            var sampler = First;
            for (var j = 0; j < count; j++)
            {
                body(sampler, rows[start + j]);
            }
            return;
        }
        var workers = Math.Min(_samplers.Length, count);
        Parallel.For(0, workers, w =>
        {
            var sampler = Get(w); // each worker index is used by one thread at a time
            for (var j = w; j < count; j += workers)
            {
                body(sampler, rows[start + j]);
            }
        });
    }

    private Sampler Get(int worker) => _samplers[worker] ??= new Sampler(vocabSize);
}
