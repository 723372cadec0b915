using System.Globalization;
using Microsoft.Data.Sqlite;

namespace Sluice.Service.History;

/// <summary>
/// The job history: one SQLite file (<c>jobs.db</c>) in the service's state directory. Every change of a job's state is
/// written through at once, so a service that dies leaves each job as it last was (<see cref="InterruptRunning"/>).
/// One connection, used under a lock: the service writes a few rows per job, never in a hot loop.
/// </summary>
internal sealed class JobStore : IDisposable
{
    private const string Columns = "id, name, spec, state, reason, submitted, started, ended, stats, error, log, rows_total, runs";
    private readonly SqliteConnection _db;
    private readonly Lock _lock = new();

    public JobStore(string directory)
    {
        Directory.CreateDirectory(directory);
        Path = System.IO.Path.Combine(directory, "jobs.db");
        _db = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = Path, Pooling = false }.ToString());
        _db.Open();
        Execute("PRAGMA journal_mode=WAL;");
        Execute("""
            CREATE TABLE IF NOT EXISTS jobs (
              id TEXT PRIMARY KEY, name TEXT NOT NULL, spec TEXT NOT NULL, state TEXT NOT NULL, reason TEXT,
              submitted TEXT NOT NULL, started TEXT, ended TEXT, stats TEXT, error TEXT, log TEXT, rows_total INTEGER, runs INTEGER NOT NULL DEFAULT 0);
            """);
    }

    public string Path { get; }

    /// <summary>Jobs left running or queued by a service that stopped: marked interrupted (resumable); returns how many.</summary>
    public int InterruptRunning(DateTimeOffset now)
    {
        lock (_lock)
        {
            using var command = _db.CreateCommand();
            command.CommandText = "UPDATE jobs SET state = 'interrupted', ended = $now, reason = NULL, error = COALESCE(error, 'the service stopped while the job was ' || state) WHERE state IN ('running', 'queued')";
            command.Parameters.AddWithValue("$now", Text(now));
            return command.ExecuteNonQuery();
        }
    }

    public void Save(JobRow row)
    {
        ArgumentNullException.ThrowIfNull(row);
        lock (_lock)
        {
            using var command = _db.CreateCommand();
            command.CommandText = $"INSERT OR REPLACE INTO jobs ({Columns}) VALUES ($id, $name, $spec, $state, $reason, $submitted, $started, $ended, $stats, $error, $log, $rows_total, $runs)";
            command.Parameters.AddWithValue("$id", row.Id);
            command.Parameters.AddWithValue("$name", row.Name);
            command.Parameters.AddWithValue("$spec", row.Spec);
            command.Parameters.AddWithValue("$state", row.State.Name());
            command.Parameters.AddWithValue("$reason", (object?)row.Reason ?? DBNull.Value);
            command.Parameters.AddWithValue("$submitted", Text(row.Submitted));
            command.Parameters.AddWithValue("$started", row.Started is { } s ? Text(s) : DBNull.Value);
            command.Parameters.AddWithValue("$ended", row.Ended is { } e ? Text(e) : DBNull.Value);
            command.Parameters.AddWithValue("$stats", (object?)row.StatsJson ?? DBNull.Value);
            command.Parameters.AddWithValue("$error", (object?)row.Error ?? DBNull.Value);
            command.Parameters.AddWithValue("$log", (object?)row.Log ?? DBNull.Value);
            command.Parameters.AddWithValue("$rows_total", (object?)row.RowsTotal ?? DBNull.Value);
            command.Parameters.AddWithValue("$runs", row.Runs);
            command.ExecuteNonQuery();
        }
    }

    /// <summary>Every job, oldest first.</summary>
    public IReadOnlyList<JobRow> All()
    {
        lock (_lock)
        {
            using var command = _db.CreateCommand();
            command.CommandText = $"SELECT {Columns} FROM jobs ORDER BY submitted, id";
            using var reader = command.ExecuteReader();
            var rows = new List<JobRow>();
            while (reader.Read())
            {
                rows.Add(new JobRow(reader.GetString(0), reader.GetString(1), reader.GetString(2),
                    JobStates.TryParse(reader.GetString(3), out var state) ? state : JobState.Interrupted,
                    Nullable(reader, 4), Time(reader.GetString(5)), Nullable(reader, 6) is { } s ? Time(s) : null, Nullable(reader, 7) is { } e ? Time(e) : null,
                    Nullable(reader, 8), Nullable(reader, 9), Nullable(reader, 10), reader.IsDBNull(11) ? null : reader.GetInt64(11), reader.GetInt32(12)));
            }
            return rows;
        }
    }

    public void Dispose() => _db.Dispose();

    private void Execute(string sql)
    {
        using var command = _db.CreateCommand();
        command.CommandText = sql;
        command.ExecuteNonQuery();
    }

    private static string? Nullable(SqliteDataReader reader, int i) => reader.IsDBNull(i) ? null : reader.GetString(i);

    private static string Text(DateTimeOffset time) => time.UtcDateTime.ToString("O", CultureInfo.InvariantCulture);

    private static DateTimeOffset Time(string text) => DateTimeOffset.Parse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal);
}
