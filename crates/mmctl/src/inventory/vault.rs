//! Ansible Vault, read in Rust so that mmctl can check and render an inventory with secrets
//! without starting Python: whole files and inline `!vault` values, format 1.1 and 1.2 (with a
//! vault id), AES256 as ansible-vault writes them: PBKDF2-HMAC-SHA256 (10000 rounds) gives the
//! AES-256-CTR key, the HMAC-SHA256 key and the counter; the HMAC is checked before anything is
//! decrypted, so a wrong password is an error, never garbage.

use aes::cipher::{KeyIvInit, StreamCipher};
use hmac::{Hmac, Mac};
use sha2::Sha256;

#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum VaultError {
    #[error("not Ansible Vault text")]
    NotVault,
    #[error("cipher {0} is not supported (ansible-vault writes AES256)")]
    Cipher(String),
    #[error("the vaulted text is damaged ({0})")]
    Damaged(&'static str),
    #[error("the vault password does not open it (wrong password, or another vault id's)")]
    WrongPassword,
    #[error("no vault password was given (--vault-password-file, --vault-id or --ask-vault-pass)")]
    NoSecret,
}

pub fn is_vault(text: &str) -> bool {
    text.trim_start().starts_with("$ANSIBLE_VAULT;")
}

/// The vault id a format 1.2 header names (`$ANSIBLE_VAULT;1.2;AES256;dev`).
pub fn label(text: &str) -> Option<String> {
    let header = text.trim_start().lines().next()?;
    let id = header.split(';').nth(3)?.trim();
    (!id.is_empty()).then(|| id.to_string())
}

pub fn decrypt(text: &str, password: &[u8]) -> Result<String, VaultError> {
    let mut lines = text.trim().lines();
    let header = lines.next().ok_or(VaultError::NotVault)?.trim();
    let fields: Vec<&str> = header.split(';').collect();
    if fields.len() < 3 || fields[0] != "$ANSIBLE_VAULT" {
        return Err(VaultError::NotVault);
    }
    if fields[2].trim() != "AES256" {
        return Err(VaultError::Cipher(fields[2].trim().to_string()));
    }
    let body: String = lines.flat_map(|l| l.trim().chars()).collect();
    let inner = hex(&body).ok_or(VaultError::Damaged("not hexadecimal"))?;
    let inner =
        String::from_utf8(inner).map_err(|_| VaultError::Damaged("no salt, HMAC and data"))?;
    let mut parts = inner.split('\n');
    let (Some(salt), Some(mac), Some(data)) = (parts.next(), parts.next(), parts.next()) else {
        return Err(VaultError::Damaged("no salt, HMAC and data"));
    };
    let bad = VaultError::Damaged("not hexadecimal");
    let (salt, mac, mut data) = (
        hex(salt).ok_or(bad.clone())?,
        hex(mac).ok_or(bad.clone())?,
        hex(data.trim()).ok_or(bad)?,
    );
    let mut derived = [0u8; 80];
    pbkdf2::pbkdf2_hmac::<Sha256>(password, &salt, 10_000, &mut derived);
    let (key, rest) = derived.split_at(32);
    let (mac_key, iv) = rest.split_at(32);
    let mut check = <Hmac<Sha256> as Mac>::new_from_slice(mac_key).expect("any key length");
    check.update(&data);
    check
        .verify_slice(&mac)
        .map_err(|_| VaultError::WrongPassword)?;
    let mut cipher = ctr::Ctr128BE::<aes::Aes256>::new(key.into(), iv.into());
    cipher.apply_keystream(&mut data);
    // PKCS#7 padding to the AES block.
    let pad = *data.last().ok_or(VaultError::Damaged("empty"))? as usize;
    if pad == 0 || pad > 16 || pad > data.len() {
        return Err(VaultError::Damaged("bad padding"));
    }
    data.truncate(data.len() - pad);
    String::from_utf8(data).map_err(|_| VaultError::Damaged("not UTF-8 text"))
}

fn hex(s: &str) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const FILE: &str = include_str!("../../tests/fixtures/vault/vault.yml");
    const INLINE: &str = "$ANSIBLE_VAULT;1.1;AES256\n65663337336531333336616437336434313838393034326465623763633762333139333236303839\n3538303363626462363234613832313661303130636561380a616632323962646438306433326636\n39373735653461363032643336343937396361363362323035326665383432343664393861373836\n3633353962663265390a653834653738333564393337643736376338366139663264623361653734\n3164\n";

    #[test]
    fn files_and_inline_values_that_ansible_vault_encrypted_open_with_their_password() {
        assert_eq!(
            decrypt(FILE, b"secret-pass").unwrap(),
            "vault_smtp_password: \"s3cr3t-smtp\"\nvault_healthchecks_api_key: \"k3y-abc\"\n"
        );
        assert_eq!(decrypt(INLINE, b"secret-pass").unwrap(), "inline-secret");
    }

    #[test]
    fn a_wrong_password_or_damaged_text_is_an_error_never_garbage() {
        assert_eq!(decrypt(FILE, b"nope"), Err(VaultError::WrongPassword));
        let damaged = FILE.replacen("3939", "3938", 1);
        assert!(decrypt(&damaged, b"secret-pass").is_err());
        assert_eq!(decrypt("hello", b"x"), Err(VaultError::NotVault));
        assert!(matches!(
            decrypt("$ANSIBLE_VAULT;1.1;AES\n00", b"x"),
            Err(VaultError::Cipher(_))
        ));
    }
}
