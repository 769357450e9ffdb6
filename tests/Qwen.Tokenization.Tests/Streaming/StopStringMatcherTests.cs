using Qwen.Tokenization.Streaming;

namespace Qwen.Tokenization.Tests.Streaming;

/// <summary>Stop strings against a naive oracle: the emitted text is the text before the earliest stop string, for every split.</summary>
public sealed class StopStringMatcherTests
{
    [Theory]
    [InlineData("Hello world. STOP here", new[] { "STOP" })]
    [InlineData("abcabcabd", new[] { "abd" })]
    [InlineData("no stop in this text", new[] { "xyz", "zz" })]
    [InlineData("line one\n\nline two", new[] { "\n\n", "two" })]
    [InlineData("aaaa", new[] { "aaaaa" })]
    [InlineData("早上好，世界。结束了", new[] { "结束" })]
    public void Push_EverySplitIntoDeltas_EmitsExactlyTheTextBeforeTheEarliestStop(string text, string[] stops)
    {
        var earliest = stops.Select(s => text.IndexOf(s, StringComparison.Ordinal)).Where(i => i >= 0).DefaultIfEmpty(-1).Min();
        var expected = earliest >= 0 ? text[..earliest] : text;
        var random = new Random(7);
        for (var trial = 0; trial < 200; trial++)
        {
            var matcher = new StopStringMatcher(stops);
            var emitted = "";
            var stopped = false;
            var i = 0;
            while (i < text.Length && !stopped)
            {
                var n = trial == 0 ? 1 : random.Next(1, 5);
                var (chunk, s) = matcher.Push(text.Substring(i, Math.Min(n, text.Length - i)));
                emitted += chunk;
                stopped = s;
                i += n;
                Assert.StartsWith(emitted, expected, StringComparison.Ordinal); // never leaks past the stop
            }
            if (!stopped)
            {
                emitted += matcher.Flush();
            }
            Assert.Equal(expected, emitted);
            Assert.Equal(earliest >= 0, stopped);
        }
    }
}
