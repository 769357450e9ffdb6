using System.Text;
using Google.Protobuf;

namespace Qwen.OnnxExport.Onnx;

/// <summary>
/// Writes the few ONNX protobuf messages the exporter needs (field numbers from the ONNX IR spec, onnx.proto).
/// Messages are built bottom-up as byte arrays: each builder returns the encoded message, which its parent embeds.
/// </summary>
internal sealed class ProtoWriter
{
    private readonly MemoryStream _buffer = new();
    private readonly CodedOutputStream _out;

    /// <summary>An empty message.</summary>
    public ProtoWriter() => _out = new CodedOutputStream(_buffer, leaveOpen: true);

    /// <summary>Appends a varint field (int32, int64, enum).</summary>
    public ProtoWriter Int(int field, long value)
    {
        _out.WriteTag(field, WireFormat.WireType.Varint);
        _out.WriteInt64(value);
        return this;
    }

    /// <summary>Appends a float field.</summary>
    public ProtoWriter Float(int field, float value)
    {
        _out.WriteTag(field, WireFormat.WireType.Fixed32);
        _out.WriteFloat(value);
        return this;
    }

    /// <summary>Appends a UTF-8 string field.</summary>
    public ProtoWriter String(int field, string value) => Bytes(field, Encoding.UTF8.GetBytes(value));

    /// <summary>Appends a bytes field.</summary>
    public ProtoWriter Bytes(int field, ReadOnlySpan<byte> value)
    {
        _out.WriteTag(field, WireFormat.WireType.LengthDelimited);
        _out.WriteBytes(ByteString.CopyFrom(value));
        return this;
    }

    /// <summary>Appends an embedded message (encoded by another writer).</summary>
    public ProtoWriter Message(int field, byte[] message) => Bytes(field, message);

    /// <summary>The encoded message.</summary>
    public byte[] ToArray()
    {
        _out.Flush();
        return _buffer.ToArray();
    }
}
