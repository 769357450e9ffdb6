using System.Text.Json;

namespace Qwen.Server.Tests.Endpoints;

/// <summary>
/// A raw SSE body split into its blocks as the wire has them: each block is a comment (": keep-alive") or an event with
/// an optional <c>event:</c> name and one <c>data:</c> line. Parsed by hand, not by a client library, so tests see exactly
/// what was written.
/// </summary>
public sealed record SseEvents(IReadOnlyList<SseEvents.Block> Blocks)
{
    public static SseEvents Parse(string body)
    {
        Assert.EndsWith("\n\n", body, StringComparison.Ordinal);
        var blocks = new List<Block>();
        foreach (var text in body[..^2].Split("\n\n"))
        {
            var lines = text.Split('\n');
            if (lines.All(l => l.StartsWith(':')))
            {
                blocks.Add(new Block(null, null, text));
                continue;
            }
            string? name = null;
            string? data = null;
            foreach (var line in lines)
            {
                if (line.StartsWith("event: ", StringComparison.Ordinal))
                {
                    Assert.Null(name);
                    name = line["event: ".Length..];
                }
                else if (line.StartsWith("data: ", StringComparison.Ordinal))
                {
                    Assert.Null(data);
                    data = line["data: ".Length..];
                }
                else
                {
                    Assert.Fail($"unexpected SSE line '{line}' in block '{text}'");
                }
            }
            Assert.NotNull(data);
            blocks.Add(new Block(name, data, null));
        }
        return new SseEvents(blocks);
    }

    /// <summary>The events' JSON, comments left out.</summary>
    public IReadOnlyList<JsonElement> Data => [.. Blocks.Where(b => b.Data is not null && b.Data != "[DONE]").Select(b => JsonDocument.Parse(b.Data!).RootElement)];

    /// <summary>One block: an event (Name may be null) or a comment.</summary>
    public sealed record Block(string? Name, string? Data, string? Comment);
}
