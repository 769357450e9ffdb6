using Qwen.Inference.Sampling;

namespace Qwen.Inference.Tests.Sampling;

/// <summary>A hand-written constraint: <c>allowed(position, tokenId)</c> decides, position = tokens accepted so far. Records every call.</summary>
internal sealed class ScriptedConstraint(Func<int, int, bool> allowed) : ITokenConstraint
{
    public List<int> Accepted { get; } = [];

    public int IsAllowedCalls { get; private set; }

    /// <summary>Only even ids, always.</summary>
    public static ScriptedConstraint EvenIds() => new((_, id) => id % 2 == 0);

    /// <summary>Ids from <paramref name="set"/> for the first <paramref name="count"/> tokens, then only <paramref name="stop"/>.</summary>
    public static ScriptedConstraint SetThenStop(IReadOnlySet<int> set, int count, int stop) => new((position, id) => position < count ? set.Contains(id) : id == stop);

    public bool IsAllowed(int tokenId)
    {
        IsAllowedCalls++;
        return allowed(Accepted.Count, tokenId);
    }

    public void Accept(int tokenId)
    {
        Assert.True(allowed(Accepted.Count, tokenId), $"Accept({tokenId}) of a token the constraint does not allow");
        Accepted.Add(tokenId);
    }
}
