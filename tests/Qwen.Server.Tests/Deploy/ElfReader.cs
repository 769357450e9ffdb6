using System.Buffers.Binary;
using System.Text;
using Microsoft.Win32.SafeHandles;

namespace Qwen.Server.Tests.Deploy;

/// <summary>Reads the DT_NEEDED entries (the sonames the dynamic linker must load) of a little-endian ELF64 shared library.</summary>
/// <remarks>
/// Walks the section headers to the SHT_DYNAMIC section and resolves each DT_NEEDED value in the string table that
/// section links to (System V gABI, "Dynamic Section"). Only the headers and those two sections are read, so the
/// 290 MB CUDA provider costs a few kilobytes of I/O.
/// </remarks>
internal static class ElfReader
{
    private const int SectionHeaderSize = 64; // Elf64_Shdr
    private const int DynamicEntrySize = 16;  // Elf64_Dyn: d_tag, d_val
    private const uint ShtDynamic = 6;
    private const long DtNull = 0;
    private const long DtNeeded = 1;

    /// <summary>The DT_NEEDED sonames of <paramref name="path"/>, in the order the dynamic section lists them.</summary>
    public static IReadOnlyList<string> NeededLibraries(string path)
    {
        using var file = File.OpenHandle(path);
        var header = Read(file, 0, 64); // Elf64_Ehdr
        if (!header.AsSpan(0, 4).SequenceEqual("\u007FELF"u8))
        {
            throw new InvalidDataException($"{path} is not an ELF file");
        }
        if (header[4] != 2 || header[5] != 1)
        {
            throw new InvalidDataException($"{path} is not little-endian ELF64 (class {header[4]}, data {header[5]})");
        }
        var sectionHeaders = (long)BinaryPrimitives.ReadUInt64LittleEndian(header.AsSpan(0x28));
        var entrySize = BinaryPrimitives.ReadUInt16LittleEndian(header.AsSpan(0x3A));
        var count = BinaryPrimitives.ReadUInt16LittleEndian(header.AsSpan(0x3C));
        if (entrySize != SectionHeaderSize || count == 0)
        {
            // count 0 with section headers present means more than 0xff00 sections (count in section 0): not needed here.
            throw new InvalidDataException($"{path}: unsupported section header table (entry size {entrySize}, count {count})");
        }

        var table = Read(file, sectionHeaders, count * SectionHeaderSize);
        for (var i = 0; i < count; i++)
        {
            var section = table.AsSpan(i * SectionHeaderSize, SectionHeaderSize);
            if (BinaryPrimitives.ReadUInt32LittleEndian(section[4..]) != ShtDynamic)
            {
                continue;
            }
            var dynamic = Read(file, Offset(section), Size(section));
            var link = (int)BinaryPrimitives.ReadUInt32LittleEndian(section[0x28..]);
            if (link <= 0 || link >= count)
            {
                throw new InvalidDataException($"{path}: the dynamic section links to section {link} of {count}");
            }
            var strings = table.AsSpan(link * SectionHeaderSize, SectionHeaderSize);
            var stringTable = Read(file, Offset(strings), Size(strings));

            var needed = new List<string>();
            for (var at = 0; at + DynamicEntrySize <= dynamic.Length; at += DynamicEntrySize)
            {
                var tag = BinaryPrimitives.ReadInt64LittleEndian(dynamic.AsSpan(at));
                if (tag == DtNull)
                {
                    break;
                }
                if (tag == DtNeeded)
                {
                    needed.Add(CString(stringTable, BinaryPrimitives.ReadUInt64LittleEndian(dynamic.AsSpan(at + 8)), path));
                }
            }
            return needed;
        }
        throw new InvalidDataException($"{path} has no dynamic section (a static executable or an object file)");
    }

    // sh_offset at 0x18, sh_size at 0x20 of an Elf64_Shdr.
    private static long Offset(ReadOnlySpan<byte> section) => checked((long)BinaryPrimitives.ReadUInt64LittleEndian(section[0x18..]));

    private static int Size(ReadOnlySpan<byte> section) => checked((int)BinaryPrimitives.ReadUInt64LittleEndian(section[0x20..]));

    private static string CString(byte[] table, ulong offset, string path)
    {
        if (offset >= (ulong)table.Length)
        {
            throw new InvalidDataException($"{path}: string offset {offset} is outside the {table.Length}-byte string table");
        }
        var rest = table.AsSpan((int)offset);
        var end = rest.IndexOf((byte)0);
        return Encoding.UTF8.GetString(end < 0 ? rest : rest[..end]);
    }

    private static byte[] Read(SafeFileHandle file, long offset, int length)
    {
        var buffer = new byte[length];
        var done = 0;
        while (done < length)
        {
            var n = RandomAccess.Read(file, buffer.AsSpan(done), offset + done);
            if (n == 0)
            {
                throw new InvalidDataException($"ELF file ends at {offset + done}, {length - done} bytes short of a header or section");
            }
            done += n;
        }
        return buffer;
    }
}
