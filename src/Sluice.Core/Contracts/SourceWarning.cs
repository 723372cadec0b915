namespace Sluice.Contracts;

/// <summary>
/// Something a datasource noticed while reading that did not stop the job, e.g. invalid UTF-8 bytes
/// read as U+FFFD: how often, and where the first case is, so the user can find and judge it.
/// </summary>
/// <param name="Message">One line naming the file and line of the first case and the total, e.g.
/// <c>docs/a.txt line 3: invalid UTF-8 replaced with U+FFFD (4 byte sequences in 2 files)</c>.</param>
/// <param name="Count">How many times it happened in the whole read.</param>
public sealed record SourceWarning(string Message, long Count);
