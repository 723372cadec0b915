namespace Sluice.Contracts;

/// <summary>One input file as a datasource found it: the fingerprint of an output records these.</summary>
/// <param name="Path">The full path.</param>
/// <param name="Length">Bytes.</param>
/// <param name="LastWriteUtc">Last modification time (UTC).</param>
public sealed record InputFile(string Path, long Length, DateTime LastWriteUtc);

/// <summary>The files a datasource reads, and the directories it lists to find them.</summary>
/// <param name="Files">Every input file, in read order.</param>
/// <param name="ListedDirectories">
/// Full paths of directories whose files are (or would be) read because they are listed (a directory
/// input or a glob's directory): an output written into one of them would be read back as input.
/// </param>
/// <param name="Options">The source's own options that change its rows (a CSV delimiter, declared column
/// types, skipping empty lines), in one canonical line; null when it has none.</param>
public sealed record DatasourceInputs(IReadOnlyList<InputFile> Files, IReadOnlyList<string> ListedDirectories, string? Options = null);
