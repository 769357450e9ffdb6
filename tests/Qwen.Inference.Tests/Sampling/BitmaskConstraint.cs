using Qwen.Inference.Sampling;

namespace Qwen.Inference.Tests.Sampling;

/// <summary>
/// A constraint that answers the sampler's full scan in bulk, as the grammar does: <c>allowed(tokenId)</c> decides, and
/// <see cref="FillAllowed"/> also sets every bit past <c>size</c> in the mask's last word (a sloppy bulk answer the
/// sampler must ignore). Counts both kinds of call.
/// </summary>
internal sealed class BitmaskConstraint(Func<int, bool> allowed, int size) : ITokenConstraint
{
    public int IsAllowedCalls { get; private set; }

    public int FillAllowedCalls { get; private set; }

    public bool IsAllowed(int tokenId)
    {
        IsAllowedCalls++;
        return tokenId < size && allowed(tokenId);
    }

    public void FillAllowed(Span<ulong> mask, int vocabulary)
    {
        FillAllowedCalls++;
        Assert.Equal(size, vocabulary);
        mask.Clear();
        for (var i = 0; i < vocabulary; i++)
        {
            if (allowed(i))
            {
                mask[i >> 6] |= 1UL << i;
            }
        }
        if (vocabulary % 64 != 0)
        {
            mask[^1] |= ulong.MaxValue << vocabulary;
        }
    }

    public void Accept(int tokenId) => Assert.True(IsAllowed(tokenId));
}
