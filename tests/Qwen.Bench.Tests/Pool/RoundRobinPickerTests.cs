using Qwen.Bench.Pool;

namespace Qwen.Bench.Tests.Pool;

public class RoundRobinPickerTests
{
    [Fact]
    public void Pick_Repeatedly_CyclesThroughEveryReplicaInOrder()
    {
        var picker = new RoundRobinPicker(3);

        var picks = Enumerable.Range(0, 10).Select(_ => picker.Pick()).ToArray();

        Assert.Equal([0, 1, 2, 0, 1, 2, 0, 1, 2, 0], picks);
    }

    [Fact]
    public async Task Pick_FromManyThreads_GivesEachReplicaTheSameShare()
    {
        var picker = new RoundRobinPicker(4);
        var counts = new int[4];

        await Task.WhenAll(Enumerable.Range(0, 8).Select(_ => Task.Run(() =>
        {
            for (var i = 0; i < 1000; i++)
            {
                Interlocked.Increment(ref counts[picker.Pick()]);
            }
        })));

        Assert.Equal([2000, 2000, 2000, 2000], counts);
    }
}
