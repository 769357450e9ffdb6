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

    public ProtoWriter() => _out = new CodedOutputStream(_buffer, leaveOpen: true);

    public ProtoWriter Int(int field, long value)
    {
        _out.WriteTag(field, WireFormat.WireType.Varint);
        _out.WriteInt64(value);
        return this;
    }

    public ProtoWriter Float(int field, float value)
    {
        _out.WriteTag(field, WireFormat.WireType.Fixed32);
        _out.WriteFloat(value);
        return this;
    }

    public ProtoWriter String(int field, string value) => Bytes(field, Encoding.UTF8.GetBytes(value));

    public ProtoWriter Bytes(int field, ReadOnlySpan<byte> value)
    {
        _out.WriteTag(field, WireFormat.WireType.LengthDelimited);
        _out.WriteBytes(ByteString.CopyFrom(value));
        return this;
    }

    public ProtoWriter Message(int field, byte[] message) => Bytes(field, message);

    public byte[] ToArray()
    {
        _out.Flush();
        return _buffer.ToArray();
    }
}
