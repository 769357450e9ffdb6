namespace Qwen.Bench.Pool;

/// <summary>
/// A stand-in for the default endpoint picker (EPP) of the Gateway API Inference Extension v1.5.0, without its
/// prefix-cache scorer (weight 3 in the chart's default profile), which needs the EPP's own prefix index. The rule:
/// <list type="bullet">
/// <item>queue score = (maxQ - q) / (maxQ - minQ) over the candidates' waiting requests q, 1.0 for all when they are equal
/// (scorer/queuedepth/queue.go);</item>
/// <item>KV score = 1 - KV-cache usage (scorer/kvcacheutilization);</item>
/// <item>total = 2 x queue + 2 x KV (config/charts/epplib/templates/_config.yaml);</item>
/// <item>the highest total wins, ties broken uniformly at random (picker/max_score_picker.go shuffles, then sorts stably).</item>
/// </list>
/// The figures come from <paramref name="snapshot"/>: the latest scrape of each replica, up to a refresh interval old, as
/// the EPP's are; a burst of picks within one interval all see the same figures.
/// </summary>
internal sealed class QueueKvPicker(Func<IReadOnlyList<ReplicaMetrics>> snapshot, Random random) : IReplicaPicker
{
    /// <summary>The chart's weights of the two scorers.</summary>
    public const double QueueWeight = 2, KvWeight = 2;

    /// <inheritdoc/>
    public string Name => "queue+kv";

    /// <inheritdoc/>
    public int Pick()
    {
        // Random is not thread-safe; picks are rare next to the work they route.
        lock (random)
        {
            return Choose(snapshot(), random);
        }
    }

    /// <summary>Each replica's total score: 2 x queue score + 2 x KV score.</summary>
    public static double[] Scores(IReadOnlyList<ReplicaMetrics> replicas)
    {
        ArgumentNullException.ThrowIfNull(replicas);
        var (min, max) = (replicas.Min(r => r.Waiting), replicas.Max(r => r.Waiting));
        return replicas.Select(r => (QueueWeight * (max == min ? 1.0 : (double)(max - r.Waiting) / (max - min))) + (KvWeight * (1 - r.KvUsage))).ToArray();
    }

    /// <summary>The index of a replica with the highest score, drawn uniformly among those that share it.</summary>
    public static int Choose(IReadOnlyList<ReplicaMetrics> replicas, Random random)
    {
        ArgumentNullException.ThrowIfNull(random);
        var scores = Scores(replicas);
        var best = scores.Max();
        var tied = Enumerable.Range(0, scores.Length).Where(i => scores[i] == best).ToArray();
        return tied[random.Next(tied.Length)];
    }
}
