using System.Net.Sockets;
using System.Text;

namespace Qwen.Bench.Load;

/// <summary>
/// A raw TCP client that sends one streaming request, reads only the response's status line and headers, then never
/// reads again: its small receive buffer (SO_RCVBUF) fills and the server's writes stall, as with a client that hangs.
/// Disposing closes the socket.
/// </summary>
internal sealed class NeverReadingStream : IDisposable
{
    private readonly Socket _socket;

    private NeverReadingStream(Socket socket, int status)
    {
        _socket = socket;
        Status = status;
    }

    /// <summary>The response's HTTP status (200 for a stream that started; 429, 400 for a refusal), 0 when none came.</summary>
    public int Status { get; }

    /// <summary>Sends <paramref name="json"/> to <paramref name="path"/> and reads up to the end of the response headers.</summary>
    public static async Task<NeverReadingStream> OpenAsync(Uri server, string path, string json, int receiveBuffer, CancellationToken ct)
    {
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { ReceiveBufferSize = receiveBuffer };
        await socket.ConnectAsync(server.Host, server.Port, ct);
        var body = Encoding.UTF8.GetBytes(json);
        var head = Encoding.ASCII.GetBytes($"POST {path} HTTP/1.1\r\nHost: {server.Authority}\r\nContent-Type: application/json\r\nContent-Length: {body.Length}\r\n\r\n");
        await socket.SendAsync(head.Concat(body).ToArray(), ct);
        // Byte by byte up to the blank line, so nothing of the body is read (the status is all this client wants).
        var headers = new StringBuilder();
        var one = new byte[1];
        while (!headers.ToString().EndsWith("\r\n\r\n", StringComparison.Ordinal) && await socket.ReceiveAsync(one, ct) == 1)
        {
            headers.Append((char)one[0]);
        }
        var statusLine = headers.ToString().Split("\r\n")[0].Split(' ');
        return new NeverReadingStream(socket, statusLine.Length > 1 && int.TryParse(statusLine[1], out var status) ? status : 0);
    }

    public void Dispose() => _socket.Dispose();
}
