using System.IO.Compression;
using ZstdSharp;

namespace Sluice.IO.Files;

/// <summary>How an input file's bytes are packed, known by its extension and checked against its first bytes.</summary>
internal enum Compression
{
    None,
    Gzip,
    Zstd,
}

/// <summary>
/// Reads <c>.gz</c> and <c>.zst</c> inputs transparently: the extension says which, the file's magic bytes must agree
/// (a file named <c>.gz</c> that is not gzip, or a gzip file not named so, is refused naming both — never read as
/// binary garbage). A compressed stream cannot be entered in the middle, so such a file is one read task.
/// </summary>
internal static class InputCompression
{
    private static readonly byte[] GzipMagic = [0x1F, 0x8B];
    private static readonly byte[] ZstdMagic = [0x28, 0xB5, 0x2F, 0xFD];

    public static Compression Of(string file) =>
        file.EndsWith(".gz", StringComparison.OrdinalIgnoreCase) ? Compression.Gzip
        : file.EndsWith(".zst", StringComparison.OrdinalIgnoreCase) || file.EndsWith(".zstd", StringComparison.OrdinalIgnoreCase) ? Compression.Zstd
        : Compression.None;

    public static bool IsCompressed(string file) => Of(file) != Compression.None;

    /// <summary>The file's bytes, decompressed when its name says so.</summary>
    public static Stream OpenRead(string file, int bufferSize = 1 << 16)
    {
        var stream = new FileStream(file, FileMode.Open, FileAccess.Read, FileShare.Read, bufferSize, FileOptions.SequentialScan);
        return Wrap(file, stream);
    }

    /// <summary><paramref name="stream"/> (the file's raw bytes) decompressed when the file's name says so; disposing it disposes the stream.</summary>
    public static Stream Wrap(string file, Stream stream) => Of(file) switch
    {
        Compression.Gzip => new GZipStream(stream, CompressionMode.Decompress, leaveOpen: false),
        Compression.Zstd => new DecompressionStream(stream, leaveOpen: false),
        _ => stream,
    };

    /// <summary>
    /// Refuses a file whose name and first bytes disagree about compression, and a compressed file where the format
    /// cannot take one (<paramref name="accepts"/> false: Parquet compresses its pages itself).
    /// </summary>
    public static void Check(string file, string expected, bool accepts)
    {
        var kind = Of(file);
        if (kind != Compression.None && !accepts)
            throw new BadInputException($"'{file}': {expected} files are not read through {Name(kind)} (the format compresses inside); give the uncompressed {expected} file");
        Span<byte> head = stackalloc byte[4];
        int n;
        using (var stream = new FileStream(file, FileMode.Open, FileAccess.Read, FileShare.ReadWrite, 1))
            n = stream.ReadAtLeast(head, head.Length, throwOnEndOfStream: false);
        head = head[..n];
        var looks = head.StartsWith(GzipMagic) ? Compression.Gzip : head.StartsWith(ZstdMagic) ? Compression.Zstd : Compression.None;
        if (kind == looks || (kind == Compression.None && !accepts)) return;
        if (kind == Compression.None)
            throw new BadInputException($"'{file}' starts like a {Name(looks)} file but its name does not end in {Extension(looks)}; rename it to end in {Extension(looks)} so it is decompressed, or decompress it");
        throw new BadInputException(looks == Compression.None
            ? $"'{file}' is named {Extension(kind)} but is not {Name(kind)} data (its first bytes are not the {Name(kind)} magic); give a {Name(kind)} file or remove the extension"
            : $"'{file}' is named {Extension(kind)} but holds {Name(looks)} data; rename it to end in {Extension(looks)}");
    }

    /// <summary>A sentence for <c>explain</c>, or null when no file is compressed.</summary>
    public static string? Describe(IReadOnlyList<string> files)
    {
        var n = files.Count(IsCompressed);
        return n == 0 ? null : $"{n} compressed file{(n == 1 ? "" : "s")} (gzip/zstd) read whole, one task each";
    }

    private static string Name(Compression kind) => kind == Compression.Gzip ? "gzip" : "zstd";

    private static string Extension(Compression kind) => kind == Compression.Gzip ? ".gz" : ".zst";
}
