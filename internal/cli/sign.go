package cli

import (
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"slices"

	"github.com/spf13/cobra"

	"github.com/keychain-auth/keychain-auth/internal/config"
	"github.com/keychain-auth/keychain-auth/internal/signature"
)

func newKeygenCmd(app *App) *cobra.Command {
	var service string
	cmd := &cobra.Command{
		Use:   "keygen <private-key-file>",
		Short: "Create an Ed25519 key pair for signing binaries (the private key file is created 0600 and never overwritten)",
		Args:  exactArgs(1, "the private key file to create"),
		RunE: func(cmd *cobra.Command, args []string) error {
			path := args[0]
			pub, priv := signature.GenerateKey()
			if err := signature.WritePrivateKeyFile(path, priv); err != nil {
				return fmt.Errorf("keygen: %w", err)
			}
			pemData, err := signature.MarshalPublicKeyPEM(pub)
			if err != nil {
				return fmt.Errorf("keygen: %w", err)
			}
			pubPath := path + ".pub"
			if err := os.WriteFile(pubPath, pemData, 0o644); err != nil {
				return fmt.Errorf("keygen: write public key %q: %w", pubPath, err)
			}
			line, _ := json.Marshal(config.Signer{Service: service, PublicKey: signature.EncodePublicKey(pub)})
			fmt.Fprintf(app.Stdout, "Public key: %s\n", signature.EncodePublicKey(pub))
			fmt.Fprintf(app.Stdout, "Wrote the private key to %s and the public key to %s\n", path, pubPath)
			fmt.Fprintf(app.Stdout, "Trust it on a machine with: keychain-auth trust %s --service %s\n", signature.EncodePublicKey(pub), service)
			fmt.Fprintf(app.Stdout, "or add this to trusted_signers in config.json: %s\n", line)
			return nil
		},
	}
	cmd.Flags().StringVar(&service, "service", "SERVICE", "service name to put in the printed trusted_signers entry")
	return cmd
}

func newSignCmd(app *App) *cobra.Command {
	var keyFile string
	cmd := &cobra.Command{
		Use:   "sign --key <private-key-file> <binary>",
		Short: "Append a KCAS signature trailer to a binary, replacing any previous one",
		Args:  exactArgs(1, "the binary to sign"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if keyFile == "" {
				return usagef("sign: --key is required: the private key file keychain-auth keygen wrote")
			}
			data, err := os.ReadFile(keyFile)
			if err != nil {
				return fmt.Errorf("sign: read key: %w", err)
			}
			priv, err := signature.ParsePrivateKeyPEM(data)
			if err != nil {
				return fmt.Errorf("sign: %q: %w", keyFile, err)
			}
			if err := signature.Sign(priv, args[0]); err != nil {
				return fmt.Errorf("sign: %w", err)
			}
			pub := priv.Public().(ed25519.PublicKey)
			fmt.Fprintf(app.Stdout, "Signed %s with key %s\n", args[0], signature.EncodePublicKey(pub))
			return nil
		},
	}
	cmd.Flags().StringVar(&keyFile, "key", "", "private key file (PEM, from keychain-auth keygen)")
	return cmd
}

// readPublicKey accepts a public key as base64, as a PEM string, or as the
// path of a file holding either.
func readPublicKey(arg string) (ed25519.PublicKey, error) {
	if key, err := signature.ParsePublicKey(arg); err == nil {
		return key, nil
	}
	data, err := os.ReadFile(arg)
	if err != nil {
		return nil, fmt.Errorf("%q is neither a public key nor a readable key file", arg)
	}
	return signature.ParsePublicKey(string(data))
}

func newVerifyCmd(app *App) *cobra.Command {
	var key string
	cmd := &cobra.Command{
		Use:   "verify --key <public-key> <binary>",
		Short: "Check a binary's KCAS signature against a public key (base64, PEM, or a key file); exit status 1 if it does not verify",
		Args:  exactArgs(1, "the binary to check"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if key == "" {
				return usagef("verify: --key is required: a base64 public key or a public key file")
			}
			pub, err := readPublicKey(key)
			if err != nil {
				return fmt.Errorf("verify: %w", err)
			}
			if err := signature.VerifyFile(pub, args[0]); err != nil {
				return fmt.Errorf("verify: %w", err)
			}
			fmt.Fprintf(app.Stdout, "%s is signed by %s\n", args[0], signature.EncodePublicKey(pub))
			return nil
		},
	}
	cmd.Flags().StringVar(&key, "key", "", "public key: base64, PEM, or a key file")
	cmd.Flags().StringVar(&key, "public-key", "", "same as --key")
	return cmd
}

func newTrustCmd(app *App) *cobra.Command {
	var service string
	var remove bool
	cmd := &cobra.Command{
		Use:   "trust <public-key> --service <service>",
		Short: "Trust binaries signed by a key for one service (adds it to trusted_signers); --remove revokes it",
		Args:  exactArgs(1, "a public key (base64, PEM, or a key file)"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if service == "" && !remove {
				return usagef("trust: --service is required: signed binaries get rights on that service only")
			}
			pub, err := readPublicKey(args[0])
			if err != nil {
				return fmt.Errorf("trust: %w", err)
			}
			id := signature.EncodePublicKey(pub)
			l, err := app.layout()
			if err != nil {
				return err
			}
			err = config.Update(l.ConfigFile(), func(c *config.Config) error {
				same := func(s config.Signer) bool {
					k, err := signature.ParsePublicKey(s.PublicKey)
					return err == nil && signature.EncodePublicKey(k) == id
				}
				if remove {
					before := len(c.TrustedSigners)
					c.TrustedSigners = slices.DeleteFunc(c.TrustedSigners, same)
					if len(c.TrustedSigners) == before {
						return errors.New("that key is not trusted")
					}
					return nil
				}
				if i := slices.IndexFunc(c.TrustedSigners, same); i >= 0 {
					c.TrustedSigners[i].Service = service
					return nil
				}
				c.TrustedSigners = append(c.TrustedSigners, config.Signer{Service: service, PublicKey: id})
				return nil
			})
			if err != nil {
				return fmt.Errorf("trust: %w", err)
			}
			if remove {
				fmt.Fprintf(app.Stdout, "No longer trusting %s; binaries it signed lose their rights at their next request\n", id)
			} else {
				fmt.Fprintf(app.Stdout, "Trusting binaries signed by %s for service %q\n", id, service)
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&service, "service", "", "the service signed binaries may read, write and search")
	cmd.Flags().BoolVar(&remove, "remove", false, "stop trusting the key")
	return cmd
}
