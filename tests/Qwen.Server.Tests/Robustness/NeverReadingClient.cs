using System.Globalization;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;

namespace Qwen.Server.Tests.Robustness;

/// <summary>A raw TCP client that sends one streaming request and never reads a byte (4 KB receive buffer).</summary>
internal sealed class NeverReadingClient : IDisposable
{
    private readonly Socket _socket;

    private NeverReadingClient(Socket socket) => _socket = socket;

    public static async Task<NeverReadingClient> SendAsync(Uri server, int n, int maxTokens)
    {
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { ReceiveBufferSize = 4096 };
        await socket.ConnectAsync(server.Host, server.Port);
        var body = JsonSerializer.Serialize(new { messages = new[] { new { role = "user", content = "never read" } }, stream = true, n, max_tokens = maxTokens, ignore_eos = true, logprobs = true, top_logprobs = 20 });
        var head = string.Create(CultureInfo.InvariantCulture, $"POST /v1/chat/completions HTTP/1.1\r\nHost: {server.Authority}\r\nContent-Type: application/json\r\nContent-Length: {Encoding.UTF8.GetByteCount(body)}\r\n\r\n");
        await socket.SendAsync(Encoding.UTF8.GetBytes(head + body));
        return new NeverReadingClient(socket);
    }

    /// <summary>Reads from now on until <paramref name="end"/> has arrived; returns everything read.</summary>
    public async Task<string> ReadUntilAsync(string end)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(120));
        var received = new StringBuilder();
        var buffer = new byte[65536];
        while (!received.ToString().Contains(end, StringComparison.Ordinal))
        {
            var read = await _socket.ReceiveAsync(buffer, timeout.Token);
            Assert.True(read > 0, "the server closed the connection before " + end);
            received.Append(Encoding.UTF8.GetString(buffer, 0, read));
        }
        return received.ToString();
    }

    public void Dispose() => _socket.Dispose();
}
