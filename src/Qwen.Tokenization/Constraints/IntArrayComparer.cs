using System.Runtime.InteropServices;

namespace Qwen.Tokenization.Constraints;

/// <summary>Compares int arrays by content: the keys of DFA subsets and of minimization signatures.</summary>
internal sealed class IntArrayComparer : IEqualityComparer<int[]>
{
    /// <summary>The one instance (the comparer has no state).</summary>
    public static IntArrayComparer Instance { get; } = new();

    /// <summary>Whether both arrays hold the same values in the same order.</summary>
    public bool Equals(int[]? x, int[]? y) => ReferenceEquals(x, y) || (x is not null && y is not null && x.AsSpan().SequenceEqual(y));

    /// <summary>A hash of the values in order.</summary>
    public int GetHashCode(int[] obj)
    {
        var hash = new HashCode();
        hash.AddBytes(MemoryMarshal.AsBytes(obj.AsSpan()));
        return hash.ToHashCode();
    }
}
