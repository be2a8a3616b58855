package io.raftkv.client;

import io.raftkv.client.CtlInput.Word;
import io.raftkv.client.RaftKvCtl.UsageException;
import org.jline.reader.Candidate;
import org.jline.reader.Completer;
import org.jline.reader.EndOfFileException;
import org.jline.reader.LineReader;
import org.jline.reader.LineReaderBuilder;
import org.jline.reader.ParsedLine;
import org.jline.reader.UserInterruptException;
import org.jline.terminal.Terminal;
import org.jline.terminal.TerminalBuilder;
import picocli.CommandLine;
import picocli.CommandLine.Model.OptionSpec;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;

/**
 * raftkvctl without a command: reads commands line by line and runs each in one session. On a terminal JLine edits
 * the lines (arrows, Ctrl-R), keeps a history in ~/.raftkvctl_history and completes command names, subcommands and
 * flags with Tab; Ctrl-C drops the line being typed, Ctrl-D or exit leaves. Piped in, standard input is read as bytes,
 * one command per line, no prompt and no terminal handling, and the exit code is the worst of the lines'.
 */
final class CtlShell {

    /** Lines kept in the history, in memory and in its file. */
    private static final int HISTORY_LINES_MAX = 1_000;
    private static final Path HISTORY_FILE = Path.of(System.getProperty("user.home"), ".raftkvctl_history");

    private CtlShell() {
    }

    /** {@code terminal}: standard input is a terminal, so JLine reads it; else the session's standard input, as bytes. */
    static int run(CtlSession session, CommandLine commands, boolean terminal) {
        RaftKvClient client;
        try {
            client = session.client();
        } catch (UsageException e) {
            return session.fail(RaftKvCtl.EXIT_USAGE, e.getMessage());
        }
        Terminal tty = terminal ? openTerminal() : null;
        try {
            if (tty != null) session.lines = editedLines(tty, commands);
            session.inShell = true;
            return loop(session, commands, client);
        } finally {
            closeQuietly(tty);
        }
    }

    private static int loop(CtlSession session, CommandLine commands, RaftKvClient client) {
        int worst = RaftKvCtl.EXIT_OK;
        while (true) {
            String prompt = "raftkv " + RaftKvCtl.hostPort(client.preferredEndpoint()) + "> ";
            if (session.interactive && session.lines.getClass() != Edited.class) {
                session.out.print(prompt);
                session.out.flush();
            }
            List<Word> words;
            try {
                byte[] line;
                try {
                    line = session.lines.next(prompt);
                } finally {
                    session.where = session.interactive ? "" : "line " + session.lines.number() + ": ";
                }
                if (line == null) {
                    if (session.interactive) session.out.println();
                    break;
                }
                words = CtlInput.tokenize(line);
            } catch (UsageException e) {
                worst = Math.max(worst, session.fail(RaftKvCtl.EXIT_USAGE, e.getMessage()));
                continue;
            } catch (IOException e) {
                return Math.max(worst, session.fail(RaftKvCtl.EXIT_FAILED, "cannot read standard input: " + e.getMessage()));
            }
            if (words.isEmpty()) continue;
            if (words.size() == 1 && (words.get(0).text().equals("exit") || words.get(0).text().equals("quit"))) break;
            worst = Math.max(worst, RaftKvCtl.runLine(commands, session, words));
            session.out.flush();
        }
        session.out.flush();
        return session.interactive ? RaftKvCtl.EXIT_OK : worst;
    }

    /** The terminal, or null when JLine cannot make one (then the shell reads standard input as piped). */
    private static Terminal openTerminal() {
        try {
            return TerminalBuilder.builder().system(true).dumb(false).build();
        } catch (IOException | RuntimeException e) {
            return null;
        }
    }

    private static Edited editedLines(Terminal tty, CommandLine commands) {
        LineReader reader = LineReaderBuilder.builder().terminal(tty).appName("raftkvctl")
                .completer(new Commands(commands))
                .variable(LineReader.HISTORY_FILE, HISTORY_FILE)
                .variable(LineReader.HISTORY_SIZE, HISTORY_LINES_MAX)
                .variable(LineReader.HISTORY_FILE_SIZE, HISTORY_LINES_MAX)
                // raftkvctl tokenizes the line itself: '!' and '\' mean nothing to the editor.
                .option(LineReader.Option.DISABLE_EVENT_EXPANSION, true)
                .build();
        return new Edited(reader);
    }

    /** Lines typed on a terminal, edited by JLine; the history is saved as each line is accepted. */
    private static final class Edited implements CtlSession.Lines {
        private final LineReader reader;
        private long number;

        Edited(LineReader reader) {
            this.reader = reader;
        }

        @Override
        public byte[] next(String prompt) {
            while (true) {
                try {
                    String line = reader.readLine(prompt);
                    number++;
                    return line.getBytes(StandardCharsets.UTF_8);
                } catch (UserInterruptException e) {
                    // Ctrl-C drops the line being typed, as a shell does.
                } catch (EndOfFileException e) {
                    return null;
                }
            }
        }

        @Override
        public long number() {
            return number;
        }
    }

    /** Tab completion from the command tree: subcommands of the command typed so far, or its flags after a '-'. */
    private record Commands(CommandLine root) implements Completer {
        @Override
        public void complete(LineReader reader, ParsedLine line, List<Candidate> candidates) {
            CommandLine at = root;
            for (String word : line.words().subList(0, line.wordIndex())) {
                CommandLine sub = at.getSubcommands().get(word);
                if (sub != null) at = sub;
            }
            if (line.word().startsWith("-")) {
                for (OptionSpec o : at.getCommandSpec().options()) for (String name : o.names()) candidates.add(new Candidate(name));
                return;
            }
            for (String name : at.getSubcommands().keySet()) candidates.add(new Candidate(name));
            if (at == root) for (String word : List.of("exit", "quit")) candidates.add(new Candidate(word));
        }
    }

    private static void closeQuietly(Terminal tty) {
        if (tty == null) return;
        try {
            tty.close();
        } catch (IOException e) {
            // Leaving anyway.
        }
    }
}
