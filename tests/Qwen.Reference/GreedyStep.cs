namespace Qwen.Reference;

/// <summary>One step of a greedy continuation: the arg-max token, its lead over the runner-up, and the logits it came from.</summary>
/// <param name="Token">The arg-max id (the lowest id among equal maxima).</param>
/// <param name="Margin">Its logit minus the second highest: how far float noise would have to move them to flip the pick.</param>
/// <param name="Logits">The logits row [vocab] the token was picked from.</param>
public sealed record GreedyStep(int Token, double Margin, double[] Logits)
{
    /// <summary>The greedy pick of <paramref name="logits"/>.</summary>
    public static GreedyStep From(double[] logits)
    {
        ArgumentNullException.ThrowIfNull(logits);
        int best = 0, second = -1;
        for (var i = 1; i < logits.Length; i++)
        {
            if (logits[i] > logits[best])
            {
                second = best;
                best = i;
            }
            else if (second < 0 || logits[i] > logits[second])
            {
                second = i;
            }
        }
        return new GreedyStep(best, logits[best] - logits[second], logits);
    }

    /// <summary>log_softmax of the logits at <paramref name="id"/>, in double.</summary>
    public double LogProb(int id)
    {
        var max = Logits.Max();
        return Logits[id] - max - Math.Log(Logits.Sum(l => Math.Exp(l - max)));
    }
}
