using Qwen.Inference.KvCache;

namespace Qwen.Inference.Tests.KvCache;

/// <summary>The block-hash index against a naive one: a list of tokens per slot, searched by comparing every slot.</summary>
public sealed class PrefixIndexTests
{
    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(4)]
    public void RandomAppendsTruncationsCopiesAndSwaps_LongestPrefixAsANaiveSearch(int seed)
    {
        const int Slots = 5;
        var random = new Random(seed);
        var index = new PrefixIndex(Slots);
        var naive = Enumerable.Range(0, Slots).Select(_ => new List<int>()).ToArray();
        // Few distinct tokens and shared stems, so that slots share long prefixes and blocks collide in content.
        var stems = Enumerable.Range(0, 3).Select(_ => Enumerable.Range(0, random.Next(20, 70)).Select(_ => random.Next(1, 4)).ToArray()).ToArray();
        int[] Sample() => [.. stems[random.Next(3)].Take(random.Next(0, 70)), .. Enumerable.Range(0, random.Next(0, 20)).Select(_ => random.Next(1, 4))];

        for (var op = 0; op < 3000; op++)
        {
            var slot = random.Next(Slots);
            switch (random.Next(6))
            {
                case 0:
                    var tokens = Sample();
                    index.Append(slot, tokens);
                    naive[slot].AddRange(tokens);
                    break;
                case 1:
                    var token = random.Next(1, 4);
                    index.Append(slot, token);
                    naive[slot].Add(token);
                    break;
                case 2:
                    var keep = random.Next(0, naive[slot].Count + 1);
                    index.Truncate(slot, keep);
                    naive[slot].RemoveRange(keep, naive[slot].Count - keep);
                    break;
                case 3:
                    var from = random.Next(Slots);
                    if (from != slot)
                    {
                        var length = random.Next(0, naive[from].Count + 1);
                        index.CopyPrefix(from, slot, length);
                        naive[slot] = naive[from].Take(length).ToList();
                    }
                    break;
                case 4:
                    var other = random.Next(Slots);
                    index.Swap(slot, other);
                    (naive[slot], naive[other]) = (naive[other], naive[slot]);
                    break;
                default:
                    var prompt = Sample();
                    var eligible = Enumerable.Range(0, Slots).Where(_ => random.Next(3) > 0).ToHashSet();
                    var expected = eligible.Select(s => naive[s].Zip(prompt).TakeWhile(p => p.First == p.Second).Count()).DefaultIfEmpty(0).Max();
                    var (found, matched) = index.LongestPrefix(prompt, eligible.Contains);
                    Assert.Equal(expected, matched);
                    if (expected > 0)
                    {
                        Assert.Contains(found, eligible);
                        Assert.Equal(prompt.Take(expected), naive[found].Take(expected));
                    }
                    break;
            }
            Assert.Equal(naive[slot], index.Tokens(slot).ToArray());
        }
    }

    [Fact]
    public void EqualMatches_TheMostRecentlyUsedSlot()
    {
        var index = new PrefixIndex(3);
        int[] prompt = [.. Enumerable.Range(1, 40)];
        foreach (var slot in new[] { 0, 1, 2 })
        {
            index.Append(slot, prompt.AsSpan(0, 35));
        }
        index.Touch(2);
        index.Touch(0);
        Assert.Equal((0, 35), index.LongestPrefix(prompt, _ => true));
        Assert.Equal((2, 35), index.LongestPrefix(prompt, s => s != 0));
        Assert.Equal((-1, 0), index.LongestPrefix([99, 1, 2], _ => true));
    }
}
